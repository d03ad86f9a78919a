// Harness contracts, each on real loopback sockets: option checks that used to let through
// what crashes later or changes nothing (a misspelt option key among them), echo's unbounded
// memory with a peer that does not read, and the proxy's report naming the wrong side as the one
// that ended a connection.
import { constants as bufferConstants } from 'node:buffer';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { FaultConnectionReport, ProxyLinkReport } from '../../lib/harness/index.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { refusingPort } from '../helpers/net.js';
import { harness } from './load.js';
import { Cleanup, nextReport, unansweringPort } from './util.js';

const { createFaultProxy, createFaultServer, observeClose, probe } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const MiB = 2 ** 20;

describe('fault server: behaviour names', () => {
  it('refuses names every object inherits (they crashed the process at the first connection)', async () => {
    for (const behavior of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      await expect(createFaultServer({ behavior: behavior as never }), behavior).rejects.toMatchObject({
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_VALUE',
      });
    }
    const server = cleanup.add(await createFaultServer({ behavior: 'close' }));
    expect(() => server.configure({ behavior: 'toString' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    // Still serving as configured.
    expect((await probe('127.0.0.1', server.port, { timeoutMs: 5000 })).outcome).toBe('fin');
  });

  it('a behaviour that is not a string is a bad type, as Node says it', async () => {
    for (const behavior of [5, null, undefined, {}]) {
      await expect(createFaultServer({ behavior: behavior as never }), String(behavior)).rejects.toMatchObject({
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_TYPE',
      });
    }
  });

  it('configure() takes a behaviour given as undefined for not given, as every other option', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'reset-after-bytes', bytes: 10, awaitRequest: true }));
    server.configure({ behavior: undefined, bytes: 20 });
    expect(server.settings).toMatchObject({ behavior: 'reset-after-bytes', bytes: 20, awaitRequest: true });
    const report = nextReport<FaultConnectionReport>(server);
    const r = await probe('127.0.0.1', server.port, { send: 1, timeoutMs: 5000 });
    expect(r).toMatchObject({ outcome: 'rst', received: 20 });
    expect((await report).behavior).toBe('reset-after-bytes');
  });
});

describe('fault server: echo and a peer that does not read', () => {
  it('stops reading while its replies wait: the server never queues what the peer sends', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'echo' }));
    const accepted = nextEvent<[number, net.Socket]>(server, 'connection');
    const report = nextReport<FaultConnectionReport>(server, 30_000);
    const client = net.connect({ port: server.port, host: '127.0.0.1' });
    client.pause();
    const closed = within(observeClose(client), 30_000, 'the client socket to close');
    closed.catch(() => {});
    cleanup.add({ close: () => client.destroy() });
    await nextEvent(client, 'connect');
    const [, serverSocket] = await accepted;

    // 32 MiB sent, none read: far more than the socket buffers of both directions hold.
    const total = 32 * MiB;
    client.write(Buffer.alloc(total, 'e'));
    client.end();
    // Until the server holds the peer back (it paused its reading), or has queued 8 MiB in Node
    // (what it did before: it read all and queued every reply in memory).
    await until(() => serverSocket.isPaused() || serverSocket.writableLength > 8 * MiB, 10_000, 'the echo server to stop reading');
    expect(serverSocket.writableLength).toBeLessThan(MiB);

    // Reading now, the client gets every byte back, then the server's FIN.
    let received = 0;
    client.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    client.resume();
    const o = await closed;
    expect(received).toBe(total);
    expect(o).toMatchObject({ peer: 'fin', local: 'fin', kernelError: null });
    expect((await report).steps.map((s) => s.step)).toContain('peer-eof');
  });
});

describe('fault proxy: arguments of updateToxic()', () => {
  it('refuses attributes that are not an object; an attribute given as undefined keeps its value', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'echo' }));
    const proxy = cleanup.add(
      await createFaultProxy({ upstream: server.port, toxics: [{ type: 'latency', name: 'slow', attributes: { latency: 5, jitter: 1 } }] }),
    );
    for (const attributes of [5, null, 'ab', [1]]) {
      expect(() => proxy.updateToxic('slow', { attributes: attributes as never }), JSON.stringify(attributes)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
      );
    }
    expect(proxy.toxics[0]!.attributes).toEqual({ latency: 5, jitter: 1 });
    expect(proxy.updateToxic('slow', { attributes: { latency: undefined, jitter: 2 } }).attributes).toEqual({ latency: 5, jitter: 2 });
    expect(proxy.toxics[0]!.attributes).toEqual({ latency: 5, jitter: 2 });
    // The proxy still passes data.
    const r = await probe('127.0.0.1', proxy.port, { send: 'ping', shutdown: true, timeoutMs: 5000 });
    expect(r).toMatchObject({ outcome: 'fin', received: 4 });
  });
});

describe("fault proxy: the report's endedBy", () => {
  it("names the upstream when the upstream's FIN came first", async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'lingering-close', responseBytes: 1000 }));
    const proxy = cleanup.add(await createFaultProxy({ upstream: server.port }));
    const report = nextReport<ProxyLinkReport>(proxy);
    // The client sends nothing and ends only after the upstream's FIN has reached it.
    const r = await probe('127.0.0.1', proxy.port, { timeoutMs: 5000 });
    expect(r).toMatchObject({ outcome: 'fin', received: 1000 });
    const done = await report;
    expect(done.upstreamSide?.initiator).toBe('peer');
    expect(done.endedBy).toBe('upstream');
  });

  it("names the client when the client's FIN came first", async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'echo' }));
    const proxy = cleanup.add(await createFaultProxy({ upstream: server.port }));
    const report = nextReport<ProxyLinkReport>(proxy);
    const r = await probe('127.0.0.1', proxy.port, { send: 'ping', shutdown: true, timeoutMs: 5000 });
    expect(r).toMatchObject({ outcome: 'fin', received: 4 });
    const done = await report;
    expect(done.clientSide.initiator).toBe('peer');
    expect(done.endedBy).toBe('client');
  });
});


describe('fault proxy: an upstream that does not answer', () => {
  it('resets the client once connectTimeoutMs has run out, instead of holding it for the kernel\'s two minutes', async () => {
    const port = await unansweringPort(cleanup);
    // The port really drops SYNs: a direct connect times out.
    expect(await probe('127.0.0.1', port, { connectTimeoutMs: 200, timeoutMs: 200 })).toMatchObject({
      outcome: 'connect-error',
      connectError: 'ETIMEDOUT',
    });
    const proxy = cleanup.add(await createFaultProxy({ upstream: port, connectTimeoutMs: 200 }));
    const report = nextReport<ProxyLinkReport>(proxy);
    const r = await probe('127.0.0.1', proxy.port, { send: 'x', timeoutMs: 10_000 });
    expect(r).toMatchObject({ outcome: 'rst', received: 0 });
    // Once connectTimeoutMs has run out, not before (the bound counts from the proxy's accept, a
    // moment within the client's connect: room for that and for a timer on a stale loop time).
    expect(r.durationMs - r.connectMs!).toBeGreaterThanOrEqual(150);
    expect(await report).toMatchObject({ endedBy: 'upstream-connect', upstreamError: 'ETIMEDOUT', upstreamSide: null });
    expect(proxy.activeConnections).toBe(0);
  });

  it("createFaultServer refuses a linger timeout of 0, which the lingering close cannot take (each connection's close failed with it)", async () => {
    for (const option of ['lingerIdleMs', 'lingerMaxMs'] as const) {
      await expect(createFaultServer({ behavior: 'lingering-close', [option]: 0 }), option).rejects.toMatchObject({
        name: 'RangeError',
        code: 'ERR_OUT_OF_RANGE',
        message: expect.stringContaining(`options.${option}`),
      });
    }
    const server = cleanup.add(await createFaultServer({ behavior: 'lingering-close', lingerIdleMs: 1, lingerMaxMs: 1 }));
    expect(server.settings).toMatchObject({ lingerIdleMs: 1, lingerMaxMs: 1 });
  });

  it('checks connectTimeoutMs as Node checks a timeout', async () => {
    await expect(createFaultProxy({ upstream: 1, connectTimeoutMs: '5' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    for (const connectTimeoutMs of [0, -1, 1.5, 2 ** 31]) {
      await expect(createFaultProxy({ upstream: 1, connectTimeoutMs }), String(connectTimeoutMs)).rejects.toMatchObject({
        name: 'RangeError',
        code: 'ERR_OUT_OF_RANGE',
      });
    }
  });
});

describe('observeClose: a socket created first, connected later', () => {
  it('waits for its connect: a refused one never connected (connectMs null)', async () => {
    const { port } = cleanup.add(await refusingPort());
    const socket = new net.Socket();
    const observed = within(observeClose(socket), 10_000, 'the socket to close');
    socket.connect(port, '127.0.0.1');
    const o = await observed;
    expect(o).toMatchObject({ peer: 'rst', kernelError: 'ECONNREFUSED', node: { connected: false }, timings: { connectMs: null } });
    expect(o.events.map((e) => e.event)).not.toContain('connect');
  });

  it('an accepted one: the connect is an event of the observation, at its time', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'lingering-close', responseBytes: 10 }));
    const socket = new net.Socket();
    const observed = within(observeClose(socket), 10_000, 'the socket to close');
    socket.connect(server.port, '127.0.0.1');
    socket.resume();
    const o = await observed;
    expect(o).toMatchObject({ peer: 'fin', node: { connected: true }, bytes: { received: 10 } });
    expect(o.events[0]!.event).toBe('connect');
    expect(o.timings.connectMs).toBe(o.events[0]!.atMs);
  });
});

describe('payload sizes one Buffer cannot hold', () => {
  // What one Buffer holds (4 GiB on Node 20; the harness's own bound, 2^40, on later Nodes).
  const maxBuffer = Math.min(2 ** 40, bufferConstants.MAX_LENGTH);

  it('createFaultServer refuses a responseBytes that cannot take its HTTP head at once (each connection failed with it before)', async () => {
    await expect(createFaultServer({ behavior: 'close-with-unread', responseBytes: maxBuffer - 4095 })).rejects.toMatchObject({
      name: 'RangeError',
      code: 'ERR_OUT_OF_RANGE',
      message: expect.stringContaining('options.responseBytes'),
    });
  });

  it("probe names options.send, not Buffer's size", async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'close' }));
    await expect(probe('127.0.0.1', server.port, { send: maxBuffer + 1 })).rejects.toMatchObject({
      name: 'RangeError',
      code: 'ERR_OUT_OF_RANGE',
      message: expect.stringContaining('options.send'),
    });
    expect(server.reports).toHaveLength(0);
    expect(server.activeConnections).toBe(0);
  });
});

describe('probe: what it says it sent', () => {
  it('counts what left for the kernel, not what Node still held when the connection closed', async () => {
    // A peer that never reads: the kernel's buffers fill, and most of 64 MiB stays in Node's queue.
    const server = cleanup.add(await createFaultServer({ behavior: 'stall' }));
    const send = 64 * MiB;
    const r = await probe('127.0.0.1', server.port, { send, timeoutMs: 500 });
    expect(r.outcome).toBe('timeout');
    expect(r.observation.bytes.queuedAtClose).toBeGreaterThan(0);
    expect(r.sent).toBe(r.observation.bytes.sent - r.observation.bytes.queuedAtClose);
    expect(r.sent).toBeLessThan(send);
    expect(r.sent).toBeGreaterThanOrEqual(r.observation.bytes.acked ?? 0);
  });
});

/** The error for an option key the harness does not know: the key named, then the hint. */
function unknownKey(property: string, rest: string) {
  return { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining(`The property '${property}' ${rest}`) };
}

describe('option keys the harness does not know are refused, not ignored', () => {
  it('createFaultServer: names the key and the option it was close to', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ delay: 100 }, 'options.delay', "(did you mean 'delayMs'?)"],
      [{ behaviour: 'close' }, 'options.behaviour', "(did you mean 'behavior'?)"],
      [{ timeoutms: 10 }, 'options.timeoutms', "(did you mean 'timeoutMs'?)"],
      [{ linger: 1 }, 'options.linger', "(did you mean 'lingerIdleMs' or 'lingerMaxMs'?)"],
      // Nothing close: every option is listed instead. Refused even when undefined: still a slip.
      [{ port: undefined }, 'options.port', '(it has: behavior, listen, protocol, responseBytes, bytes, delayMs, timeoutMs, awaitRequest, lingerIdleMs, lingerMaxMs)'],
      [{ listen: { hots: 'localhost', port: 0 } }, 'options.listen.hots', "is not a field of an address (did you mean 'host'?)"],
    ];
    for (const [extra, property, hint] of cases) {
      const options = { behavior: 'close', ...extra } as never;
      await expect(createFaultServer(options), property).rejects.toMatchObject(unknownKey(property, hint.startsWith('is ') ? hint : `is not an option of createFaultServer() ${hint}`));
    }
  });

  it('createFaultServer and configure: every documented option is taken', async () => {
    const all = {
      behavior: 'reset-after-bytes',
      listen: { host: '127.0.0.1', port: 0 },
      protocol: 'raw',
      responseBytes: 5000,
      bytes: 100,
      delayMs: 0,
      timeoutMs: 4000,
      awaitRequest: true,
      lingerIdleMs: 500,
      lingerMaxMs: 3000,
    } as const;
    const server = cleanup.add(await createFaultServer(all));
    const { listen: _listen, ...settings } = all;
    expect(server.settings).toEqual(settings);
    expect(() => server.configure({ ...settings, delay: 5 } as never)).toThrow(expect.objectContaining(unknownKey('options.delay', "is not an option of configure() (did you mean 'delayMs'?)")));
    // `listen` is known, only fixed: refused as what cannot change, not as a typo.
    expect(() => server.configure({ listen: 0 } as never)).toThrow(expect.objectContaining(unknownKey('options.listen', 'cannot be changed here')));
    expect(server.settings).toEqual(settings);
    server.configure({ ...settings, bytes: 200 });
    expect(server.settings.bytes).toBe(200);
    expect(await probe('127.0.0.1', server.port, { send: 1, timeoutMs: 5000 })).toMatchObject({ outcome: 'rst', received: 200 });
  });

  it('createFaultProxy: its options and its address objects', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'echo' }));
    await expect(createFaultProxy({ upstream: server.port, connectTimeout: 100 } as never)).rejects.toMatchObject(
      unknownKey('options.connectTimeout', "is not an option of createFaultProxy() (did you mean 'connectTimeoutMs'?)"),
    );
    await expect(createFaultProxy({ upstream: server.port, toxic: [] } as never)).rejects.toMatchObject(
      unknownKey('options.toxic', "is not an option of createFaultProxy() (did you mean 'toxics'?)"),
    );
    await expect(createFaultProxy({ upstream: { host: '127.0.0.1', port: server.port, Port: 1 } } as never)).rejects.toMatchObject(
      unknownKey('options.upstream.Port', "is not a field of an address (did you mean 'port'?)"),
    );
    // Every documented option taken, and the proxy passes data.
    const proxy = cleanup.add(
      await createFaultProxy({ listen: '127.0.0.1:0', upstream: { host: '127.0.0.1', port: server.port }, toxics: [{ type: 'latency' }], connectTimeoutMs: 3000 }),
    );
    expect(proxy.toxics.map((t) => t.name)).toEqual(['latency_downstream']);
    expect(await probe('127.0.0.1', proxy.port, { send: 'ping', shutdown: true, timeoutMs: 5000 })).toMatchObject({ outcome: 'fin', received: 4 });
    // What server.address() returns is an address too (its `address` is the host), on IPv6 as well.
    const v6 = net.createServer((socket) => socket.pipe(socket));
    cleanup.add({ close: () => v6.close() });
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    const info = v6.address() as net.AddressInfo;
    const toV6 = cleanup.add(await createFaultProxy({ upstream: info }));
    expect(await probe('127.0.0.1', toV6.port, { send: 'ping', shutdown: true, timeoutMs: 5000 })).toMatchObject({ outcome: 'fin', received: 4 });
    await expect(createFaultProxy({ upstream: { ...info, host: '127.0.0.1' } } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringContaining("The property 'options.upstream.address' cannot be given with 'host'"),
    });
    await expect(createFaultProxy({ upstream: { address: null, port: 1 } } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('"options.upstream.address"'),
    });
  });

  it('observeClose: refuses at the call; takes side', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'close' }));
    const refused = net.connect(server.port, '127.0.0.1');
    cleanup.add({ close: () => refused.destroy() });
    expect(() => observeClose(refused, { sides: 'client' } as never)).toThrow(
      expect.objectContaining(unknownKey('options.sides', "is not an option of observeClose() (did you mean 'side'?)")),
    );
    const socket = net.connect(server.port, '127.0.0.1');
    const observed = within(observeClose(socket, { side: 'client' }), 10_000, 'the socket to close');
    socket.resume();
    expect(await observed).toMatchObject({ peer: 'fin' });
  });

  it('probe: refuses before connecting; takes every documented option', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'echo' }));
    await expect(probe('127.0.0.1', server.port, { timeout: 100 } as never)).rejects.toMatchObject(
      unknownKey('options.timeout', "is not an option of probe() (did you mean 'timeoutMs'?)"),
    );
    await expect(probe('127.0.0.1', server.port, { shutdwon: true } as never)).rejects.toMatchObject(
      unknownKey('options.shutdwon', "is not an option of probe() (did you mean 'shutdown'?)"),
    );
    // An own '__proto__' key (JSON) is a key like any other.
    await expect(probe('127.0.0.1', server.port, JSON.parse('{"__proto__": {}}') as never)).rejects.toMatchObject(unknownKey('options.__proto__', 'is not an option of probe()'));
    expect(server.reports).toHaveLength(0);
    const r = await probe('127.0.0.1', server.port, { send: 'ping', shutdown: true, timeoutMs: 5000, connectTimeoutMs: 5000 });
    expect(r).toMatchObject({ outcome: 'fin', received: 4, sent: 4 });
    // Own enumerable keys only: what an object inherits, or hides, is not an option given.
    const inherited = Object.create({ bogus: 1 }) as Record<string, unknown>;
    Object.defineProperty(inherited, 'hidden', { value: 1, enumerable: false });
    Object.assign(inherited, { send: 'pong', shutdown: true, timeoutMs: 5000 });
    expect(await probe('127.0.0.1', server.port, inherited as never)).toMatchObject({ outcome: 'fin', received: 4 });
  });
});
