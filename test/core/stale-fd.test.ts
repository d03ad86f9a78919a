// Never act on a stale descriptor: once a socket is destroyed its number may already belong to
// another socket, so every call must refuse it, and the other socket must stay untouched.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Worker } from 'node:worker_threads';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, unixPair } from '../helpers/net.js';
import { copyOfPackage } from '../helpers/package-copy.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent } from '../helpers/wait.js';

const CLOSED = { code: 'ERR_SOCKCLOSE_CLOSED' };
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function echoServer(): Promise<net.Server> {
  const listener = await listen(net.createServer((socket) => socket.pipe(socket)));
  cleanups.push(() => closeServer(listener));
  return listener;
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  cleanups.push(() => void socket.destroy());
  await nextEvent(socket, 'connect');
  return socket;
}

/** Every public function, called on `target`; each entry throws or rejects. */
function everyCall(target: net.Socket): [string, () => unknown][] {
  return [
    ['socketFd', () => sockclose.socketFd(target)],
    ['setLinger', () => sockclose.setLinger(target, 0)],
    ['getLinger', () => sockclose.getLinger(target)],
    ['hardReset', () => sockclose.hardReset(target)],
    ['peekSocketError', () => sockclose.peekSocketError(target)],
    ['takeSocketError', () => sockclose.takeSocketError(target)],
    ['inspectSocket', () => sockclose.inspectSocket(target)],
    ['closeWouldReset', () => sockclose.closeWouldReset(target)],
  ];
}

describe('a destroyed socket', () => {
  it('is refused by every function with ERR_SOCKCLOSE_CLOSED, synchronously after destroy()', async () => {
    const listener = await echoServer();
    const socket = await connect(portOf(listener));
    socket.destroy();
    for (const [name, call] of everyCall(socket)) {
      expect(call, name).toThrow(expect.objectContaining(CLOSED));
    }
    await expect(sockclose.shutdownWrite(socket)).rejects.toMatchObject(CLOSED);
  });

  it('is refused even when the OS has handed its descriptor number to a new socket, which stays untouched', async () => {
    const listener = await echoServer();
    let stale: net.Socket | undefined;
    let fresh: net.Socket | undefined;
    // The kernel gives out the lowest free number, so the next socket usually gets the one just
    // freed; other descriptors opening meanwhile can take it, hence a few bounded attempts.
    for (let attempt = 0; attempt < 20 && !fresh; attempt++) {
      const old = await connect(portOf(listener));
      const number = sockclose.socketFd(old);
      old.destroy();
      const next = await connect(portOf(listener));
      if (sockclose.socketFd(next) === number) {
        stale = old;
        fresh = next;
      } else {
        next.destroy();
      }
    }
    expect(fresh, 'a new socket reusing the descriptor number within 20 attempts').toBeDefined();
    const reused = sockclose.socketFd(fresh!);

    for (const [name, call] of everyCall(stale!)) {
      expect(call, name).toThrow(expect.objectContaining(CLOSED));
    }
    await expect(sockclose.shutdownWrite(stale!)).rejects.toMatchObject(CLOSED);

    // The new owner of the number was not touched: no linger set, not reset, not shut down.
    expect(sockclose.socketFd(fresh!)).toBe(reused);
    expect(sockclose.getLinger(fresh!)).toEqual({ enabled: false, seconds: 0, emulated: false });
    expect(sockclose.inspectSocket(fresh!)).toMatchObject({ state: 'ESTABLISHED', pendingError: null });
    fresh!.write('still alive');
    const [echo] = await nextEvent<[Buffer]>(fresh!, 'data');
    expect(echo.toString()).toBe('still alive');
  });
});

describe("a live socket's descriptor number", () => {
  const OWNED = { code: 'ERR_SOCKCLOSE_SOCKET_OWNS_FD', message: expect.stringContaining('Pass the socket itself') };

  async function echo(socket: net.Socket, text: string): Promise<string> {
    const data = nextEvent<[Buffer]>(socket, 'data');
    socket.write(text);
    return (await data)[0].toString();
  }

  it('hardReset(socketFd(socket)) is refused: the socket keeps working, and the next connection is untouched', async () => {
    const listener = await echoServer();
    const live = await connect(portOf(listener));
    const number = sockclose.socketFd(live);
    expect(() => sockclose.hardReset(number)).toThrow(expect.objectContaining(OWNED));

    // Nothing was closed: the socket still carries data, and so does a connection opened next
    // (had the number been closed, that one would have got it and never completed).
    expect(await echo(live, 'still here')).toBe('still here');
    const next = await connect(portOf(listener));
    expect(sockclose.socketFd(next)).not.toBe(number);
    expect(await echo(next, 'next one')).toBe('next one');
    // The live socket's own destroy() closes its own descriptor, not the next connection's.
    live.destroy();
    await nextEvent(live, 'close');
    expect(await echo(next, 'after destroy')).toBe('after destroy');
    expect(sockclose.inspectSocket(next)).toMatchObject({ state: 'ESTABLISHED', pendingError: null });
  });

  it("another thread's socket: its number is refused here too, until that socket closes", async () => {
    const listener = await echoServer();
    const worker = new Worker(path.join(root, 'test', 'fixtures', 'handed-out-worker.cjs'), {
      workerData: { port: portOf(listener), lib: path.join(root, 'lib', 'index.js') },
    });
    cleanups.push(() => void worker.terminate());
    const [{ fd: number }] = await nextEvent<[{ fd: number }]>(worker, 'message');
    expect(() => sockclose.hardReset(number)).toThrow(expect.objectContaining(OWNED));

    // Nothing was closed: the worker's socket still carries data.
    worker.postMessage('echo');
    expect(await nextEvent(worker, 'message')).toEqual(['echoed']);

    // Closed there, the number no longer names that socket: whatever takes it next (a file of ours,
    // opened until one gets the number: the lowest free one each time) is refused as what it is.
    worker.postMessage('close');
    expect(await nextEvent(worker, 'message')).toEqual(['closed']);
    const files: number[] = [];
    try {
      for (let i = 0; i < 256 && !files.includes(number); i++) files.push(fs.openSync(os.devNull, 'r'));
      expect(files).toContain(number);
      expect(() => sockclose.hardReset(number)).toThrow(expect.objectContaining({ code: 'ENOTSOCK', syscall: 'getsockopt' }));
    } finally {
      for (const file of files) fs.closeSync(file);
    }
  });

  it('another copy of sockclose in this thread (two installs in one application) refuses the number too', async () => {
    // A binary file of its own, as a second install has: the loader gives it its own native state.
    const copy = copyOfPackage('sockclose-copy-', sockclose.capabilities().binary!);
    cleanups.push(() => fs.rmSync(copy, { recursive: true, force: true }));
    const explicit = process.env.SOCKCLOSE_BINARY;
    delete process.env.SOCKCLOSE_BINARY;
    let other: typeof sockclose;
    try {
      other = createRequire(import.meta.url)(path.join(copy, 'lib', 'index.js')) as typeof sockclose;
      expect(other.capabilities()).toMatchObject({ native: true, binary: path.join(copy, 'build', 'Release', 'sockclose.node') });
    } finally {
      if (explicit !== undefined) process.env.SOCKCLOSE_BINARY = explicit;
    }

    const listener = await echoServer();
    const live = await connect(portOf(listener));
    const number = sockclose.socketFd(live);
    expect(() => other.hardReset(number)).toThrow(expect.objectContaining(OWNED));
    expect(await echo(live, 'still here')).toBe('still here');
    // And the other way round.
    const second = await connect(portOf(listener));
    expect(() => sockclose.hardReset(other.socketFd(second))).toThrow(expect.objectContaining(OWNED));
    expect(await echo(second, 'second still here')).toBe('second still here');
  });

  it("an AF_UNIX socket's number is refused as not TCP first (passing the socket would not do either)", async () => {
    const { client, server, listener, dir } = await unixPair();
    cleanups.push(() => {
      client.destroy();
      server.destroy();
      listener.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const number = sockclose.socketFd(client);
    expect(() => sockclose.hardReset(number)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NOT_TCP' }));
    expect(() => sockclose.hardReset(client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NOT_TCP' }));
    // Nothing was closed: the connection still carries data.
    const got = nextEvent<[Buffer]>(server, 'data');
    client.write('unix still here');
    expect((await got)[0].toString()).toBe('unix still here');
  });

  it('the number inspectSocket() reports is refused too, and the next connection is untouched', async () => {
    const listener = await echoServer();
    const live = await connect(portOf(listener));
    const { fd } = sockclose.inspectSocket(live);
    expect(() => sockclose.hardReset(fd)).toThrow(expect.objectContaining(OWNED));
    expect(await echo(live, 'still here')).toBe('still here');
    const next = await connect(portOf(listener));
    expect(await echo(next, 'next one')).toBe('next one');
  });

  it('a TLS socket too: its descriptor (under the TLS layer) is refused, and the connection keeps working', async () => {
    const { key, cert } = testCert();
    const listener = await listen(tls.createServer({ key, cert }, (socket) => socket.pipe(socket)));
    cleanups.push(() => closeServer(listener));
    const client = tls.connect({ port: portOf(listener), host: '127.0.0.1', rejectUnauthorized: false });
    cleanups.push(() => void client.destroy());
    await nextEvent(client, 'secureConnect');
    expect(() => sockclose.hardReset(sockclose.socketFd(client))).toThrow(expect.objectContaining(OWNED));
    expect(await echo(client, 'sealed')).toBe('sealed');
  });

  it('follows the number: once its socket closes and a new one that socketFd() resolved gets it, that one is protected', async () => {
    const listener = await echoServer();
    let fresh: net.Socket | undefined;
    let number = -1;
    // As above: the freed number usually goes to the next socket; a few bounded attempts.
    for (let attempt = 0; attempt < 20 && !fresh; attempt++) {
      const old = await connect(portOf(listener));
      number = sockclose.socketFd(old);
      old.destroy();
      await nextEvent(old, 'close');
      const next = await connect(portOf(listener));
      if (sockclose.socketFd(next) === number) fresh = next;
      else next.destroy();
    }
    expect(fresh, 'a new socket reusing the descriptor number within 20 attempts').toBeDefined();
    expect(() => sockclose.hardReset(number)).toThrow(expect.objectContaining(OWNED));
    expect(await echo(fresh!, 'untouched')).toBe('untouched');
  });
});
