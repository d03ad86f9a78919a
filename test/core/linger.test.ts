// SO_LINGER: 0 is abortive; a positive linger is emulated so the event loop never blocks in
// close(), unless the caller explicitly asks for the kernel's blocking one.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import { kernelClient } from '../helpers/kernel-client.js';
import { closeServer, listen, portOf, ssByPort, tcpPair, unixPair } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, until } from '../helpers/wait.js';

const { setLinger, getLinger, inspectSocket, hardReset, socketFd } = sockclose;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A client whose peer never reads (a pauseOnConnect server), with `bytes` written and a send queue
 * the kernel cannot empty: what makes a lingering close wait.
 */
async function stuckClient(bytes: number): Promise<{ client: net.Socket; peer: net.Socket; port: number }> {
  // allowHalfOpen: the peer stays inspectable after our FIN.
  const { client, server: peer, listener } = await tcpPair({ server: { pauseOnConnect: true, allowHalfOpen: true } });
  cleanups.push(() => closeServer(listener));
  client.on('error', () => undefined);
  cleanups.push(() => void peer.destroy());
  cleanups.push(() => void client.destroy());
  client.write(Buffer.alloc(bytes, 'x'));
  if (bytes > 1024 * 1024) {
    await until(() => (inspectSocket(client).sendQueueBytes ?? 0) > 0, 5000, 'data to queue up unacknowledged');
  }
  return { client, peer, port: portOf(listener) };
}

/**
 * A TLS server's connection as its two sockets: the TLSSocket and the net.Socket under it (one TCP
 * handle). The client reads nothing, so a linger on it waits its full time.
 */
async function tlsServerConnection(): Promise<{ tls: tls.TLSSocket; raw: net.Socket }> {
  const { key, cert } = testCert();
  let raw: net.Socket | undefined;
  const secured = new Promise<tls.TLSSocket>((resolve) => {
    const server = tls.createServer({ key, cert }, resolve);
    server.on('connection', (socket: net.Socket) => (raw = socket));
    cleanups.push(() => closeServer(server));
    void listen(server).then(() => {
      const client = tls.connect({ port: portOf(server), host: '127.0.0.1', rejectUnauthorized: false });
      client.on('error', () => undefined);
      client.once('secureConnect', () => client.pause());
      cleanups.push(() => void client.destroy());
    });
  });
  const secure = await secured;
  secure.on('error', () => undefined);
  return { tls: secure, raw: raw! };
}

describe('setLinger / getLinger', () => {
  it('round-trips false, 0, an emulated and a kernel linger', async () => {
    const { client } = await stuckClient(1);
    expect(getLinger(client)).toEqual({ enabled: false, seconds: 0, emulated: false });
    setLinger(client, 0);
    expect(getLinger(client)).toEqual({ enabled: true, seconds: 0, emulated: false });
    setLinger(client, 7);
    expect(getLinger(client)).toEqual({ enabled: true, seconds: 7, emulated: true });
    expect(getLinger(socketFd(client))).toEqual({ enabled: false, seconds: 0, emulated: false }); // not in the kernel
    setLinger(client, 7, { blocking: true });
    expect(getLinger(client)).toEqual({ enabled: true, seconds: 7, emulated: false });
    setLinger(client, false);
    expect(getLinger(client)).toEqual({ enabled: false, seconds: 0, emulated: false });
  });

  it('returns frozen settings, one shared object each for off and abortive (no allocation per call)', async () => {
    const first = await stuckClient(1);
    const second = await stuckClient(1);
    const off = getLinger(first.client);
    expect(Object.isFrozen(off)).toBe(true);
    expect(getLinger(second.client)).toBe(off);
    // Off after a kernel time was set: Linux still reports that time, and it means nothing.
    setLinger(second.client, 9, { blocking: true });
    setLinger(second.client, false);
    expect(getLinger(second.client)).toBe(off);
    setLinger(first.client, 0);
    setLinger(second.client, 0);
    const abortive = getLinger(first.client);
    expect(abortive).toEqual({ enabled: true, seconds: 0, emulated: false });
    expect(Object.isFrozen(abortive)).toBe(true);
    expect(getLinger(second.client)).toBe(abortive);
    expect(getLinger(socketFd(second.client))).toBe(abortive);
    // Every other setting is a fresh object, frozen as well.
    setLinger(first.client, 65535, { blocking: true });
    const timed = getLinger(first.client);
    expect(timed).toEqual({ enabled: true, seconds: 65535, emulated: false });
    expect(Object.isFrozen(timed)).toBe(true);
    setLinger(first.client, 3);
    expect(Object.isFrozen(getLinger(first.client))).toBe(true);
    // A module is strict code: writing a frozen object's field throws.
    expect(() => ((abortive as { seconds: number }).seconds = 5)).toThrow(TypeError);
    expect(getLinger(second.client).seconds).toBe(0);
  });

  it('makes the next close abortive with 0: the peer sees ECONNRESET', async () => {
    const listener = await listen(
      net.createServer((socket) => {
        socket.once('data', () => {
          setLinger(socket, 0);
          socket.end('bye'); // even a graceful-looking close is now an RST
          socket.destroy();
        });
      }),
    );
    cleanups.push(() => closeServer(listener));
    const seen = await kernelClient({ port: portOf(listener), send: 1 });
    expect(seen.end).toBe('ECONNRESET');
  });

  it('validates its arguments like Node', async () => {
    const { client } = await stuckClient(1);
    const call = (...args: unknown[]) => () => (setLinger as (...a: unknown[]) => void)(client, ...args);
    expect(call('1')).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
    expect(call(true)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
    for (const bad of [-1, 1.5, 65536, Number.NaN, Infinity]) {
      expect(call(bad)).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }));
    }
    expect(call(1, null)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(call(1, { blocking: 'yes' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(getLinger(client)).toEqual({ enabled: false, seconds: 0, emulated: false }); // untouched
  });

  it('refuses AF_UNIX sockets, where linger means nothing', async () => {
    const { client, server, listener, dir } = await unixPair();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    cleanups.push(() => closeServer(listener));
    cleanups.push(() => void server.destroy());
    cleanups.push(() => void client.destroy());
    expect(() => setLinger(client, 0)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NOT_TCP' }));
    expect(() => getLinger(client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NOT_TCP' }));
  });

  it('refuses a positive linger on a raw descriptor without { blocking: true }', async () => {
    const { client } = await stuckClient(1);
    expect(() => setLinger(socketFd(client), 5)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_BLOCKING_LINGER' }));
    expect(getLinger(socketFd(client))).toEqual({ enabled: false, seconds: 0, emulated: false });
  });
});

describe('a positive linger never freezes the event loop', () => {
  it('emulated: destroy() returns at once, the loop keeps ticking, the connection stays until the linger ends', async () => {
    const { client, port } = await stuckClient(16 * 1024 * 1024);
    const localPort = client.localPort!;
    setLinger(client, 1);

    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    cleanups.push(() => clearInterval(ticker));
    const closed = nextEvent(client, 'close', 10_000);
    const destroyedAt = performance.now();
    client.destroy();
    const destroyTook = performance.now() - destroyedAt;

    // Still there after destroy(): the emulation keeps the handle open while data is unacked.
    expect(ssByPort(port).some((row) => row.state === 'ESTAB' && row.local.endsWith(`:${localPort}`))).toBe(true);
    await closed;
    const lingered = performance.now() - destroyedAt;

    expect(destroyTook).toBeLessThan(lingered / 4); // destroy() itself did not wait
    expect(lingered).toBeGreaterThanOrEqual(900); // the peer never read: the full second was used
    expect(ticks).toBeGreaterThan(10); // timers ran meanwhile (100 possible)
  });

  it('emulated: input arriving while it waits is dropped safely, and the socket timer stays quiet', async () => {
    const { client, peer } = await stuckClient(16 * 1024 * 1024);
    client.on('data', () => undefined); // reading: libuv will hand Node what arrives
    let timeouts = 0;
    client.setTimeout(20, () => timeouts++);
    setLinger(client, 1);
    const closed = nextEvent(client, 'close', 10_000);
    client.destroy();
    // Before the fix this read reached Node's stream after destroy() and crashed the process.
    await new Promise<void>((resolve) => peer.write('arrives while we linger', () => resolve()));
    await closed;
    expect(timeouts).toBe(0); // cleared with the deferred close, as Node's own close does
  });

  it('emulated, TLS ended right after its handshake: closes once everything is acknowledged, not at the linger\'s end', async () => {
    // Node's TLS layer keeps counting a close_notify it never wrote (24 bytes) in writeQueueSize:
    // read as "still queued", it held this close for the whole linger (30 s here).
    const { key, cert } = testCert();
    let serverSocket: tls.TLSSocket | undefined;
    const server = tls.createServer({ key, cert }, (socket) => {
      serverSocket = socket;
      socket.on('error', () => undefined);
      setLinger(socket, 30);
      socket.end('hello');
      socket.once('finish', () => socket.destroy());
    });
    await listen(server);
    cleanups.push(() => closeServer(server));
    const client = tls.connect({ port: portOf(server), host: '127.0.0.1', rejectUnauthorized: false, allowHalfOpen: true });
    cleanups.push(() => void client.destroy());
    client.on('error', () => undefined);
    client.resume(); // reads everything: the kernel acknowledges it all
    await nextEvent(client, 'end', 5000);
    await until(() => serverSocket !== undefined, 5000, 'the connection');
    if (!serverSocket!.closed) await nextEvent(serverSocket!, 'close', 5000);
  });

  it.each([
    ['the TLSSocket, then the net.Socket under it', 'tls', 'raw'],
    ['the net.Socket under a TLSSocket, then the TLSSocket', 'raw', 'tls'],
  ] as const)('emulated on a TLS server connection: one setting, set through %s (the later one wins, either reads it)', async (_label, first, second) => {
    // Both sockets share the connection's TCP handle. Before, each kept its own setting (keyed by
    // its own handle) and its own close step: getLinger() through the other said "off", and a
    // close waited for both lingers, one after the other.
    const sockets = await tlsServerConnection();
    const secure = sockets.tls;
    setLinger(sockets[first], 30);
    setLinger(sockets[second], 1);
    const one = { enabled: true, seconds: 1, emulated: true };
    expect(getLinger(sockets.tls)).toEqual(one);
    expect(getLinger(sockets.raw)).toEqual(one);
    expect(inspectSocket(sockets.raw).linger).toEqual(one);
    secure.write(Buffer.alloc(8 * 1024 * 1024)); // more than the socket buffers hold
    // In the kernel before the close: what Node's stream still holds, destroy() discards (Node 26
    // hands a TLS write to its TLS layer later than Node 20 did).
    await until(() => (inspectSocket(sockets.raw).sendQueueBytes ?? 0) > 0, 5000, 'bytes queued in the kernel');
    const closed = nextEvent(secure, 'close', 10_000); // the 30 s linger would still be waiting
    const destroyedAt = performance.now();
    secure.destroy();
    await closed;
    expect(performance.now() - destroyedAt).toBeGreaterThanOrEqual(900); // the 1 s linger did wait
  });

  it('emulated on a TLS server connection: turned off through the other socket, off for both, and the close does not wait', async () => {
    const { tls: secure, raw } = await tlsServerConnection();
    setLinger(secure, 30);
    setLinger(raw, false);
    const off = { enabled: false, seconds: 0, emulated: false };
    expect(getLinger(secure)).toEqual(off);
    expect(getLinger(raw)).toEqual(off);
    secure.write(Buffer.alloc(8 * 1024 * 1024));
    await until(() => (inspectSocket(raw).sendQueueBytes ?? 0) > 0, 5000, 'bytes queued in the kernel'); // what a linger would wait for
    const closed = nextEvent(secure, 'close', 10_000); // the 30 s linger would still be waiting
    secure.destroy();
    await closed;
  });

  it('emulated on a TLS connection whose transport was destroyed first: the linger ends quietly, no warning', async () => {
    const { tls: secure, raw } = await tlsServerConnection();
    raw.on('error', () => undefined);
    setLinger(secure, 30);
    secure.write(Buffer.alloc(8 * 1024 * 1024));
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    cleanups.push(() => void process.off('warning', onWarning));
    const closed = nextEvent(secure, 'close', 10_000);
    raw.destroy(); // closes the shared TCP handle: the TLS socket's close finds no descriptor left
    await closed;
    // A warning is emitted on the next tick: let it come before looking.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((warning) => `${(warning as { code?: string }).code}: ${warning.message}`)).toEqual([]);
  });

  it('emulated: closes as soon as everything is acknowledged when the peer does read', async () => {
    const total = 4 * 1024 * 1024;
    const { client, peer } = await stuckClient(total);
    setLinger(client, 30);
    const closed = nextEvent(client, 'close', 10_000);
    client.destroy();
    peer.resume(); // the peer starts reading
    await closed;
    // At 'close' every byte had reached the peer's kernel: the linger waited for the acks.
    expect(peer.bytesRead + (inspectSocket(peer).unreadBytes ?? 0)).toBe(total);
  });

  it('the kernel linger, by contrast, blocks the thread inside destroy() (only with { blocking: true })', async () => {
    const { client } = await stuckClient(16 * 1024 * 1024);
    setLinger(client, 1, { blocking: true });
    const before = performance.now();
    client.destroy(); // close(2) blocks here until the linger time runs out
    const blocked = performance.now() - before;
    expect(blocked).toBeGreaterThanOrEqual(900);
  });

  it("emulated: the peer's reset ends the wait at once (a reset connection's send queue never drains)", async () => {
    const { client, peer } = await stuckClient(16 * 1024 * 1024);
    setLinger(client, 30);
    client.destroy(); // the emulated linger waits: the peer reads nothing
    await until(() => inspectSocket(peer).state === 'ESTABLISHED' || inspectSocket(peer).state === 'FIN_WAIT2', 5000, 'the peer to be connected');
    const closed = nextEvent(client, 'close', 10_000);
    peer.resetAndDestroy();
    // Within the wait's 30 s it would have been: 'close' comes with the reset.
    await closed;
  });

  it("emulated: an abortive close asked for since (Node's resetAndDestroy(), SO_LINGER {1, 0} on the descriptor) resets at once", async () => {
    for (const abort of ['resetAndDestroy', 'linger 0 on the descriptor'] as const) {
      const { client, port } = await stuckClient(16 * 1024 * 1024);
      const localPort = client.localPort!;
      setLinger(client, 30);
      // Within the wait's 30 s it would have been.
      const closed = nextEvent(client, 'close', 10_000);
      if (abort === 'resetAndDestroy') {
        client.resetAndDestroy();
      } else {
        setLinger(socketFd(client), 0);
        client.destroy();
      }
      await closed;
      // Reset: nothing of the connection is left on our side (a FIN close would leave FIN_WAIT or TIME_WAIT).
      expect(ssByPort(port).filter((row) => row.local.endsWith(`:${localPort}`)), abort).toEqual([]);
    }
  });

  it('hardReset() does not wait for an emulated linger', async () => {
    const { client, port } = await stuckClient(16 * 1024 * 1024);
    const localPort = client.localPort!;
    setLinger(client, 30);
    const closed = nextEvent(client, 'close', 5000);
    hardReset(client);
    await closed;
    expect(ssByPort(port).filter((row) => row.local.endsWith(`:${localPort}`))).toEqual([]);
  });
});
