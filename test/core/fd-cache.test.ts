// The fast path keeps each plain TCP handle's descriptor on the handle (src/target.ts, liveTcpFd).
// What makes that safe, point by point: keyed by handle identity (a socket that reconnects gets a
// new handle and its new number), only numbers a handle really has (never a connecting socket's
// -1), used only while the handle is the live socket's (a reused number never reaches a destroyed
// socket: see also test/core/fast-path.test.ts and stale-fd.test.ts), never for TLS or pipes.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, unixPair } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent } from '../helpers/wait.js';

type WithHandle = net.Socket & { _handle: { fd: number } | null };

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(): Promise<net.Server> {
  const listener = await listen(net.createServer((socket) => socket.on('error', () => {})));
  cleanups.push(() => closeServer(listener));
  return listener;
}

async function connected(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  cleanups.push(() => void socket.destroy());
  await nextEvent(socket, 'connect');
  return socket;
}

/** Warms the fast path on `socket` (optimised code from here on), so its descriptor is kept. */
function warm(socket: net.Socket): void {
  for (let i = 0; i < 1000; i++) sockclose.getLinger(socket);
}

describe('the fast path\'s descriptor cache', () => {
  it('follows the handle: a socket that reconnects after destroy() uses its new descriptor, and the old number, now another socket\'s, stays untouched', async () => {
    const listener = await server();
    const socket = await connected(portOf(listener));
    warm(socket);
    const oldNumber = sockclose.inspectSocket(socket).fd;
    expect(oldNumber).toBe((socket as WithHandle)._handle!.fd);
    socket.destroy();
    await nextEvent(socket, 'close');

    // Another socket takes the freed number (the kernel hands out the lowest free one; bounded retries).
    let holder: net.Socket | undefined;
    for (let attempt = 0; attempt < 20 && !holder; attempt++) {
      const next = await connected(portOf(listener));
      if (sockclose.socketFd(next) === oldNumber) holder = next;
      else next.destroy();
    }
    expect(holder, 'a new socket reusing the descriptor number within 20 attempts').toBeDefined();
    sockclose.setLinger(holder!, 0);

    // Node lets a destroyed socket connect again: a new handle, a new descriptor.
    socket.connect(portOf(listener), '127.0.0.1');
    await nextEvent(socket, 'connect');
    const newNumber = (socket as WithHandle)._handle!.fd;
    expect(newNumber).not.toBe(oldNumber);
    warm(socket);
    expect(sockclose.inspectSocket(socket).fd).toBe(newNumber);
    sockclose.setLinger(socket, 7, { blocking: true });
    expect(sockclose.getLinger(socket)).toEqual({ enabled: true, seconds: 7, emulated: false });
    expect(sockclose.getLinger(holder!)).toEqual({ enabled: true, seconds: 0, emulated: false }); // untouched
    expect(sockclose.getLinger(newNumber)).toEqual({ enabled: true, seconds: 7, emulated: false });
  });

  it('keeps nothing while a socket is still connecting (no descriptor yet), then answers with the real one', async () => {
    const listener = await server();
    warm(await connected(portOf(listener)));
    // A host name: the lookup is asynchronous, and until it ends the handle has no descriptor.
    const socket = net.connect(portOf(listener), 'localhost');
    cleanups.push(() => void socket.destroy());
    expect((socket as WithHandle)._handle!.fd).toBeLessThan(0);
    for (let i = 0; i < 100; i++) {
      expect(() => sockclose.getLinger(socket)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NO_FD' }));
    }
    await nextEvent(socket, 'connect');
    expect(sockclose.inspectSocket(socket).fd).toBe((socket as WithHandle)._handle!.fd);
    expect(sockclose.getLinger(socket)).toEqual({ enabled: false, seconds: 0, emulated: false });
  });

  it('is never used for TLS or AF_UNIX sockets: their answers are their own descriptors\'', async () => {
    const listener = await server();
    warm(await connected(portOf(listener)));

    const unix = await unixPair();
    cleanups.push(() => fs.rmSync(unix.dir, { recursive: true, force: true }));
    cleanups.push(() => closeServer(unix.listener));
    cleanups.push(() => void unix.client.destroy());
    cleanups.push(() => void unix.server.destroy());
    for (let i = 0; i < 100; i++) expect(sockclose.inspectSocket(unix.client).fd).toBe(sockclose.socketFd(unix.client));

    const { key, cert } = testCert();
    const tlsServer = await listen(tls.createServer({ key, cert }, (s) => s.on('error', () => {})));
    cleanups.push(() => closeServer(tlsServer));
    const secure = tls.connect({ port: portOf(tlsServer), host: '127.0.0.1', rejectUnauthorized: false });
    cleanups.push(() => void secure.destroy());
    await nextEvent(secure, 'secureConnect');
    sockclose.setLinger(secure, 4, { blocking: true });
    for (let i = 0; i < 100; i++) {
      expect(sockclose.inspectSocket(secure).fd).toBe(sockclose.socketFd(secure));
      expect(sockclose.getLinger(secure)).toEqual({ enabled: true, seconds: 4, emulated: false });
    }
  });
});

// inspectSocket() keeps a live TCP handle's family the same way (src/inspect-socket.ts): read by
// the handle's first inspection, then left out of the probe (getsockname(), one syscall of seven).
describe('the family kept on the handle', () => {
  async function serverOn(host: string): Promise<net.Server> {
    const listener = await listen(net.createServer((socket) => socket.on('error', () => {})), host);
    cleanups.push(() => closeServer(listener));
    return listener;
  }

  it('is the family of the socket it was read from, at every later call, IPv4 and IPv6 alike', async () => {
    const v4 = await serverOn('127.0.0.1');
    const v6 = await serverOn('::1');
    const a = net.connect(portOf(v4), '127.0.0.1');
    const b = net.connect(portOf(v6), '::1');
    cleanups.push(() => void a.destroy(), () => void b.destroy());
    await Promise.all([nextEvent(a, 'connect'), nextEvent(b, 'connect')]);
    const families = new Set<string | null>();
    // Alternating in one warmed call site: each handle keeps its own, never the other's.
    for (let i = 0; i < 500; i++) families.add(`${sockclose.inspectSocket(a).family}/${sockclose.inspectSocket(b).family}`);
    expect([...families]).toEqual(['IPv4/IPv6']);
  });

  it('follows the handle: a socket that reconnects on the other family reports the new one', async () => {
    const v4 = await serverOn('127.0.0.1');
    const v6 = await serverOn('::1');
    const socket = net.connect(portOf(v4), '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    await nextEvent(socket, 'connect');
    for (let i = 0; i < 200; i++) expect(sockclose.inspectSocket(socket).family).toBe('IPv4');
    socket.destroy();
    await nextEvent(socket, 'close');
    socket.connect(portOf(v6), '::1');
    await nextEvent(socket, 'connect');
    for (let i = 0; i < 200; i++) expect(sockclose.inspectSocket(socket).family).toBe('IPv6');
  });
});
