// The fast path (issue 11): a live plain TCP net.Socket goes straight to its descriptor; every
// other target goes through the full resolution with exactly today's results and errors. The
// descriptor is kept only on the live handle (test/core/fd-cache.test.ts), so a destroyed socket, a
// reused descriptor number, TLS and AF_UNIX are all judged as before.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, tcpPair, unixPair } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent } from '../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function pair(): Promise<{ client: net.Socket; server: net.Socket }> {
  const { client, server, listener } = await tcpPair();
  cleanups.push(() => closeServer(listener));
  cleanups.push(() => void server.destroy());
  cleanups.push(() => void client.destroy());
  return { client, server };
}

/**
 * Every synchronous function, on `target`: its result or its error code. setLinger() sets
 * `seconds` (blocking): pass the current setting to leave the socket as it was.
 */
function everyResult(target: net.Socket | number, seconds: number | false = false): Record<string, unknown> {
  const calls: Record<string, () => unknown> = {
    getLinger: () => sockclose.getLinger(target),
    peekSocketError: () => sockclose.peekSocketError(target),
    takeSocketError: () => sockclose.takeSocketError(target),
    closeWouldReset: () => sockclose.closeWouldReset(target),
    setLinger: () => sockclose.setLinger(target, seconds, { blocking: true }),
  };
  const results: Record<string, unknown> = {};
  for (const [name, call] of Object.entries(calls)) {
    try {
      results[name] = call();
    } catch (error) {
      results[name] = `threw ${(error as NodeJS.ErrnoException).code}`;
    }
  }
  return results;
}

describe('the fast path', () => {
  it('gives a live TCP socket the same answers as its raw descriptor (which takes the full path)', async () => {
    const { client } = await pair();
    const fd = sockclose.socketFd(client);
    for (const seconds of [false, 9, 0] as const) {
      sockclose.setLinger(client, seconds, { blocking: true });
      expect(sockclose.getLinger(client)).toEqual(sockclose.getLinger(fd));
      expect(sockclose.closeWouldReset(client)).toBe(sockclose.closeWouldReset(fd));
    }
    expect(sockclose.closeWouldReset(client)).toBe(true); // SO_LINGER {1, 0}
    expect(everyResult(client, 0)).toEqual(everyResult(fd, 0));
    const viaSocket = sockclose.inspectSocket(client);
    const viaFd = sockclose.inspectSocket(fd);
    for (const field of ['fd', 'family', 'state', 'unreadBytes', 'linger', 'closeWouldReset', 'pendingError'] as const) {
      expect(viaSocket[field], field).toEqual(viaFd[field]);
    }
    expect(viaSocket.nodeQueuedBytes).toBe(0); // from the handle: only a Node socket has it
  });

  it('keeps an emulated linger per socket: other sockets read the kernel, and clearing it ends it', async () => {
    const a = await pair();
    const b = await pair();
    sockclose.setLinger(a.client, 5);
    expect(sockclose.getLinger(a.client)).toEqual({ enabled: true, seconds: 5, emulated: true });
    expect(sockclose.getLinger(b.client)).toEqual({ enabled: false, seconds: 0, emulated: false });
    expect(sockclose.inspectSocket(a.client).linger).toEqual({ enabled: true, seconds: 5, emulated: true });
    sockclose.setLinger(a.client, 0);
    expect(sockclose.getLinger(a.client)).toEqual({ enabled: true, seconds: 0, emulated: false });
  });

  it('refuses a socket destroyed while its handle is still open (an emulated linger holding it)', async () => {
    const { client } = await pair();
    sockclose.setLinger(client, 2);
    client.write(Buffer.alloc(64 * 1024));
    client.destroy();
    // The emulated linger's close step holds the handle open (it closes asynchronously).
    expect(client.destroyed).toBe(true);
    expect((client as net.Socket & { _handle: unknown })._handle).not.toBeNull();
    const results = everyResult(client);
    for (const [name, result] of Object.entries(results)) expect(result, name).toBe('threw ERR_SOCKCLOSE_CLOSED');
    expect(() => sockclose.inspectSocket(client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_CLOSED' }));
    expect(() => sockclose.hardReset(client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_CLOSED' }));
    await nextEvent(client, 'close');
  });

  it('leaves AF_UNIX, TLS, servers and look-alikes to the full path, with its exact errors', async () => {
    const unix = await unixPair();
    cleanups.push(() => fs.rmSync(unix.dir, { recursive: true, force: true }));
    cleanups.push(() => closeServer(unix.listener));
    cleanups.push(() => void unix.client.destroy());
    cleanups.push(() => void unix.server.destroy());
    expect(() => sockclose.getLinger(unix.client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NOT_TCP' }));
    expect(() => sockclose.setLinger(unix.client, 0)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NOT_TCP' }));
    expect(sockclose.peekSocketError(unix.client)).toBeNull();
    expect(sockclose.inspectSocket(unix.client).family).toBe('unix');

    const { key, cert } = testCert();
    const tlsServer = await listen(tls.createServer({ key, cert }, (socket) => socket.on('error', () => {})));
    cleanups.push(() => closeServer(tlsServer));
    const secure = tls.connect({ port: portOf(tlsServer), host: '127.0.0.1', rejectUnauthorized: false });
    cleanups.push(() => void secure.destroy());
    await nextEvent(secure, 'secureConnect');
    const fd = sockclose.socketFd(secure);
    sockclose.setLinger(secure, 3, { blocking: true });
    expect(sockclose.getLinger(secure)).toEqual({ enabled: true, seconds: 3, emulated: false });
    expect(everyResult(secure, 3)).toEqual(everyResult(fd, 3));
    expect(sockclose.inspectSocket(secure).fd).toBe(fd);

    // A server has a TCP handle too, and a look-alike can borrow a live one: neither is a socket.
    // closeWouldReset() alone takes a listening server, and answers as for its listening descriptor.
    const { client } = await pair();
    const listener = await listen(net.createServer());
    cleanups.push(() => closeServer(listener));
    const lookAlike = { _handle: (client as net.Socket & { _handle: unknown })._handle, destroyed: false };
    const listenerFd = (listener as net.Server & { _handle: { fd: number } })._handle.fd;
    for (const target of [listener, lookAlike]) {
      const results = everyResult(target as unknown as net.Socket);
      for (const [name, result] of Object.entries(results)) {
        if (target === listener && name === 'closeWouldReset') expect(result, name).toBe(sockclose.closeWouldReset(listenerFd));
        else expect(result, name).toBe('threw ERR_INVALID_ARG_TYPE');
      }
    }
  });

  it('never lets a reused number reach the destroyed socket, on hot code', async () => {
    const listener = await listen(net.createServer((socket) => socket.on('error', () => {})));
    cleanups.push(() => closeServer(listener));
    // Warm the fast path on a socket, destroy it, and let a new socket take its number.
    let reusedBy: net.Socket | undefined;
    let stale: net.Socket | undefined;
    for (let attempt = 0; attempt < 20 && !reusedBy; attempt++) {
      const old = net.connect(portOf(listener), '127.0.0.1');
      await nextEvent(old, 'connect');
      for (let i = 0; i < 1000; i++) sockclose.getLinger(old); // hot: optimised code from here on
      const number = sockclose.socketFd(old);
      old.destroy();
      await nextEvent(old, 'close');
      const next = net.connect(portOf(listener), '127.0.0.1');
      cleanups.push(() => void next.destroy());
      await nextEvent(next, 'connect');
      if (sockclose.socketFd(next) === number) {
        reusedBy = next;
        stale = old;
      }
    }
    expect(reusedBy, 'a new socket reusing the descriptor number within 20 attempts').toBeDefined();
    sockclose.setLinger(reusedBy!, 0);
    for (let i = 0; i < 1000; i++) {
      expect(() => sockclose.setLinger(stale!, false)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_CLOSED' }));
    }
    expect(sockclose.getLinger(reusedBy!)).toEqual({ enabled: true, seconds: 0, emulated: false }); // untouched
  });
});
