// lingeringClose()'s signal: aborting ends the close at once in whatever stage it is (the flush in
// JavaScript, the linger in native code), closed as a timeout closes it; what the peer saw is
// judged by a kernel-level client. Every idle timeout here is long: a close that waited it out
// would fail the test on its report's timeout.
import { getEventListeners } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';

import { describe, expect, it } from 'vitest';

import { closeServer, connectionsLeftOnServer, listen, portOf, tcpPair } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';

const { lingeringClose, enableLingeringClose } = sockclose;
type LingerReport = Awaited<ReturnType<typeof lingeringClose>>;
type CallOptions = NonNullable<Parameters<typeof lingeringClose>[1]>;

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();
const LONG = 60_000;

/**
 * A server that lingering-closes each connection with `options`; `onConnection` may abort. With
 * `unreadFirst`, the close waits until that many of the peer's bytes are in the kernel: the peer is
 * another process, whose first send can come after an abort a few milliseconds in.
 */
async function abortableServer(
  onConnection: (socket: net.Socket, controller: AbortController) => void,
  options: CallOptions = {},
  unreadFirst = 0,
): Promise<{ server: net.Server; port: number; report: Promise<LingerReport> }> {
  let resolveReport!: (report: Promise<LingerReport>) => void;
  const report = new Promise<Promise<LingerReport>>((resolve) => (resolveReport = resolve));
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    const controller = new AbortController();
    const close = () => {
      onConnection(socket, controller);
      return lingeringClose(socket, { idleTimeout: LONG, maxTimeout: LONG, ...options, signal: options.signal ?? controller.signal });
    };
    if (unreadFirst === 0) resolveReport(close());
    else resolveReport(until(() => (sockclose.inspectSocket(socket).unreadBytes ?? 0) >= unreadFirst, 5000, `${unreadFirst} bytes from the peer`).then(close));
  });
  await listen(server);
  cleanups.add(() => closeServer(server));
  return { server, port: portOf(server), report: within(report, 5000, 'a connection').then((r) => within(r, 10_000, 'the report')) };
}

describe('lingeringClose() with a signal', () => {
  it('aborted while lingering natively: ends at once with RST, reported as aborted', async () => {
    const { server, port, report } = await abortableServer((socket, controller) => {
      // 'close': Node let go of the socket, the native lingerer has the connection.
      socket.once('close', () => setImmediate(() => controller.abort()));
    }, {}, 4);
    // Our FIN arrives, then the peer stays silent until the reset is there; its send then meets it
    // (EPIPE: a reset after the FIN, as Linux names it; without one the send would succeed).
    const seen = peer.run({ port, steps: [{ send: 4 }, { recvEnd: true }, { awaitError: true }, { send: 1 }], timeoutMs: 10_000 });
    const r = await report;
    expect(r).toMatchObject({ reason: 'aborted', closedWith: 'reset', drainedBytes: 4, error: null });
    expect(r.durationMs).toBeLessThan(LONG);
    expect(connectionsLeftOnServer(server)).toBe(0);
    expect(await seen).toMatchObject({ end: 'eof', awaited: 'error', sendError: 'EPIPE' });
  });

  it('a TLS socket, aborted while lingering natively (after our FIN): ends with RST', async () => {
    const { key, cert } = testCert();
    const controller = new AbortController();
    let close: Promise<LingerReport> | undefined;
    const server = tls.createServer({ key, cert }, (socket) => {
      socket.on('error', () => {});
      socket.write('hello');
      close = lingeringClose(socket, { idleTimeout: LONG, maxTimeout: LONG, signal: controller.signal });
      socket.once('close', () => controller.abort());
    });
    await listen(server);
    cleanups.add(() => closeServer(server));
    // Reads the response and our FIN, then stays silent with its side open.
    const client = tls.connect({ port: portOf(server), host: '127.0.0.1', rejectUnauthorized: false, allowHalfOpen: true });
    cleanups.add(() => void client.destroy());
    client.on('error', () => {});
    client.resume();
    await nextEvent(client, 'end', 5000);
    await until(() => close !== undefined, 5000, 'the connection');
    expect(await within(close!, 10_000, 'the report')).toMatchObject({ reason: 'aborted', closedWith: 'reset', error: null });
  });

  it('aborted during the flush (a peer that reads nothing): ends at once with RST, what libuv held dropped', async () => {
    const { port, report } = await abortableServer((socket, controller) => {
      socket.write(Buffer.alloc(8 * 1024 * 1024)); // far more than the kernel's buffers take
      // lingeringClose() has begun its flush by then, and libuv still holds most of the 8 MB.
      setImmediate(() => controller.abort());
    });
    // Reads nothing until the reset is there: the flush cannot complete before the abort.
    const seen = peer.run({ port, rcvbuf: 16 * 1024, steps: [{ awaitError: true }, { recvEnd: true }], timeoutMs: 10_000 });
    const r = await report;
    expect(r).toMatchObject({ reason: 'aborted', closedWith: 'reset', error: null });
    const result = await seen;
    expect(result.received).toBeLessThan(8 * 1024 * 1024);
    // A fast server resets before the peer's blocking connect() has returned: connect() then
    // reports the reset itself (seen on an idle 2-core Xeon, 8 ms into the test).
    expect(result.connectError ?? result.end).toBe('ECONNRESET');
  });

  it("already aborted: no flush and no linger; onTimeout: 'close' closes normally", async () => {
    const { port, report } = await abortableServer(() => {}, { signal: AbortSignal.abort(), onTimeout: 'close' });
    const seen = peer.run({ port, steps: [{ recvEnd: true }], timeoutMs: 10_000 });
    expect(await report).toMatchObject({ reason: 'aborted', closedWith: 'close', drainedBytes: 0 });
    expect(await seen).toMatchObject({ received: 0, end: 'eof' });
  });

  it("a lingering server's socket: counted as aborted in its stats, RST counted", async () => {
    const server = net.createServer({ pauseOnConnect: true });
    const control = enableLingeringClose(server, { idleTimeout: LONG });
    cleanups.add(() => closeServer(server), control);
    const controller = new AbortController();
    const closes: Promise<LingerReport>[] = [];
    server.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.write('hello');
      closes.push(lingeringClose(socket, { signal: controller.signal }));
      socket.once('close', () => controller.abort());
    });
    await listen(server);
    // Keeps its side open (no FIN of its own, which would end the linger as 'eof') until the reset.
    const seen = peer.run({ port: portOf(server), steps: [{ recvEnd: true }, { awaitError: true }], timeoutMs: 10_000 });
    await until(() => closes.length === 1, 5000, 'the connection');
    expect(await within(closes[0]!, 10_000, 'the report')).toMatchObject({ reason: 'aborted', closedWith: 'reset' });
    expect(control.stats()).toMatchObject({ lingering: 0, resets: 1 });
    expect(control.stats().reasons).toMatchObject({ aborted: 1, eof: 0, 'idle-timeout': 0 });
    // The peer reads our bytes and FIN, then waits for the reset; or, when the abort's RST lands
    // before its first read (seen on Node 26), the read itself fails with it; or, before its
    // connect() returned (Python's connect with a timeout reads SO_ERROR after its poll: seen twice
    // in CI on a loaded machine), connect() reports it. Linux names a reset that finds our FIN
    // already in (the peer in CLOSE_WAIT) EPIPE, any other ECONNRESET: both are the abort's RST.
    const peerSaw = await seen;
    if (peerSaw.end === 'eof') expect(peerSaw.awaited).toBe('error');
    else expect(['ECONNRESET', 'EPIPE']).toContain(peerSaw.connectError ?? peerSaw.end);
  });

  it('one listener per signal, however many closes share it; a close that ended is not touched by it', async () => {
    const first = await tcpPair();
    const second = await tcpPair({ clientHalfOpen: true });
    // Run last first: the sockets go before their listeners close.
    cleanups.add(
      () => closeServer(first.listener),
      () => closeServer(second.listener),
      () => void first.client.destroy(),
      () => void second.client.destroy(),
    );
    const controller = new AbortController();
    const closes = [first, second].map(({ server }) => lingeringClose(server, { idleTimeout: LONG, signal: controller.signal }));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    first.client.end(); // this peer finishes: its linger ends with its FIN
    first.client.resume();
    expect(await within(closes[0]!, 10_000, 'the first report')).toMatchObject({ reason: 'eof', closedWith: 'close' });
    // The other peer stays half-open: it never answers our FIN with its own.
    second.client.on('error', () => {});
    controller.abort();
    expect(await within(closes[1]!, 5000, 'the second report')).toMatchObject({ reason: 'aborted', closedWith: 'reset' });
    expect(await closes[0]).toMatchObject({ reason: 'eof' });
  });

  it('refuses a signal that is not an AbortSignal, as Node does', async () => {
    const { client, server, listener } = await tcpPair();
    // Run last first: the sockets go before their listener closes.
    cleanups.add(() => closeServer(listener), () => void client.destroy(), () => void server.destroy());
    // { aborted: false } alone used to pass the check, end the socket, then fail without a code.
    for (const signal of [{}, 'abort', 1, null, { aborted: false }, { aborted: false, addEventListener() {} }]) {
      await expect(lingeringClose(server, { signal } as unknown as CallOptions)).rejects.toMatchObject({
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_TYPE',
        message: expect.stringContaining('"options.signal" property must be an instance of AbortSignal'),
      });
    }
    expect(server.destroyed).toBe(false);
    expect(server.writableEnded).toBe(false);
  });
});

describe('enableLingeringClose() with a signal', () => {
  it('refuses a signal that is not an AbortSignal before it changes anything: the server can be enabled after', () => {
    const server = net.createServer();
    expect(() => enableLingeringClose(server, { signal: { aborted: false } as unknown as AbortSignal })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
    );
    // Not left enabled: enabling it now works (it threw ERR_INVALID_ARG_VALUE, "already enabled").
    const control = enableLingeringClose(server);
    control();
  });

  it('aborting ends every close of the server that began, in each stage, and undoes lingering close', async () => {
    const reports: LingerReport[] = [];
    const controller = new AbortController();
    let accepted = 0;
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      const stage = accepted++;
      if (stage === 0) socket.destroy(); // lingers natively: its peer never sends its FIN
      if (stage === 1) socket.end('bye'); // half-closed: its peer never sends its FIN
      if (stage === 2) {
        socket.write(Buffer.alloc(8 * 1024 * 1024)); // its peer reads nothing: the flush waits
        socket.destroy();
      }
      if (stage === 3) socket.destroy(); // after the abort: closes as Node closes it
    });
    const control = enableLingeringClose(server, {
      idleTimeout: LONG,
      maxTimeout: LONG,
      signal: controller.signal,
      onReport: (report) => reports.push(report),
    });
    await listen(server);
    cleanups.add(() => closeServer(server), control);
    const clients = [0, 1, 2].map(() => {
      const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
      client.on('error', () => {});
      return client;
    });
    cleanups.add(() => clients.forEach((client) => client.destroy()));
    clients[0]!.resume();
    clients[1]!.resume();
    clients[2]!.pause();
    await until(() => control.stats().lingering === 3, 10_000, 'three closes under way');
    controller.abort();
    await until(() => reports.length === 3, 5000, 'the three reports');
    expect(reports.map((r) => r.reason)).toEqual(['aborted', 'aborted', 'aborted']);
    expect(reports.every((r) => r.closedWith === 'reset')).toBe(true);
    expect(control.stats()).toMatchObject({ lingering: 0, resets: 3 });
    expect(control.stats().reasons).toMatchObject({ aborted: 3, 'idle-timeout': 0 });
    await within(control.drained(), 1000, 'drained()');
    // Undone: a new connection closes as Node closes it, with no linger and no report.
    const late = net.connect({ port: portOf(server), host: '127.0.0.1' });
    late.on('error', () => {});
    late.resume();
    await within(new Promise((resolve) => late.once('close', resolve)), 5000, 'the late connection to close');
    expect(reports).toHaveLength(3);
    expect(control.stats().lingering).toBe(0);
  });

  it("enabled again after an undo: the abort ends the earlier enable's closes too, and drained() comes at once", async () => {
    // Before, only the closes of the enable holding the signal were cut: the earlier enable's ran
    // to their idle timeout (here 60 s) while the new control's drained() waited for them.
    const reports: LingerReport[] = [];
    const sockets: net.Socket[] = [];
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      sockets.push(socket);
    });
    const undo = enableLingeringClose(server, { idleTimeout: LONG, maxTimeout: LONG, onReport: (report) => reports.push(report) });
    await listen(server);
    cleanups.add(() => closeServer(server), undo);
    const clients = [0, 1, 2].map(() => {
      const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
      client.on('error', () => {});
      client.resume(); // reads, never sends its FIN: each close lingers until its timeout
      return client;
    });
    cleanups.add(() => clients.forEach((client) => client.destroy()));
    await until(() => sockets.length === 3, 5000, 'three connections');
    for (const socket of sockets) socket.destroy();
    await until(() => undo.stats().lingering === 3, 5000, 'three lingering closes');
    undo();
    const controller = new AbortController();
    const control = enableLingeringClose(server, { idleTimeout: LONG, maxTimeout: LONG, signal: controller.signal });
    cleanups.add(control);
    controller.abort();
    await within(control.drained(), 5000, "drained() after the abort (the earlier enable's closes ended)");
    await until(() => reports.length === 3, 5000, 'the three reports');
    expect(reports.map((r) => r.reason)).toEqual(['aborted', 'aborted', 'aborted']);
    expect(undo.stats()).toMatchObject({ lingering: 0 });
  });

  it('a half-closed close ends within abort() itself, a flushing one within the same turn of the loop', async () => {
    // Not at their next look (the shared clock's 25 ms tick, the flush's poll): abort() reaches them.
    const reports: LingerReport[] = [];
    const controller = new AbortController();
    const sockets: net.Socket[] = [];
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      if (sockets.push(socket) === 1) {
        socket.end('bye'); // half-closed: its peer never sends its FIN
      } else {
        socket.write(Buffer.alloc(8 * 1024 * 1024)); // its peer reads nothing: the flush waits
        socket.destroy();
      }
    });
    const control = enableLingeringClose(server, { idleTimeout: LONG, maxTimeout: LONG, signal: controller.signal, onReport: (report) => reports.push(report) });
    await listen(server);
    cleanups.add(() => closeServer(server), control);
    for (let i = 0; i < 2; i++) {
      const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
      client.on('error', () => {});
      client.pause();
      cleanups.add(() => client.destroy());
      // One at a time: the first accepted is the half-closed one.
      await until(() => control.stats().lingering === i + 1, 10_000, `close ${i + 1} under way`);
    }
    controller.abort();
    expect(sockets[0]!.destroyed).toBe(true);
    // Ended and counted within abort() itself; onReport hears of it once Node has closed the
    // descriptor, which follows in the same call: in the next tick.
    expect(control.stats().reasons.aborted).toBe(1);
    expect(reports).toEqual([]);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(reports.map((r) => r.reason)).toEqual(['aborted']);
    // The flushing one ends in the microtasks after abort(); its report waits for Node's real close,
    // which follows them, and comes in this turn's check phase: after this immediate, queued first.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(reports.map((r) => r.reason)).toEqual(['aborted', 'aborted']);
    expect(control.stats()).toMatchObject({ lingering: 0, resets: 2 });
  });

  it('undone: the signal still ends the closes under way, then lets go of the server (its listener removed)', async () => {
    const reports: LingerReport[] = [];
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      socket.destroy(); // lingers natively until its peer's FIN
    });
    await listen(server);
    cleanups.add(() => closeServer(server));
    const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;
    /** Enabled with `signal`, then `count` connections lingering; the clients are returned. */
    async function lingering(signal: AbortSignal, count: number) {
      const control = enableLingeringClose(server, { idleTimeout: LONG, maxTimeout: LONG, signal, onReport: (report) => reports.push(report) });
      cleanups.add(control);
      const clients = Array.from({ length: count }, () => {
        const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
        client.on('error', () => {});
        client.resume();
        cleanups.add(() => client.destroy());
        return client;
      });
      await until(() => control.stats().lingering === count, 10_000, `${count} closes under way`);
      return { control, clients };
    }

    // Undone with two closes under way: one ends by itself, the abort ends the other.
    const first = new AbortController();
    const { control, clients } = await lingering(first.signal, 2);
    control();
    clients[0]!.end();
    await until(() => reports.length === 1, 5000, 'the first report');
    expect(reports[0]).toMatchObject({ reason: 'eof' });
    expect(listeners(first.signal)).toBe(1); // the other is still under way
    first.abort();
    await until(() => reports.length === 2, 5000, 'the second report');
    expect(reports[1]).toMatchObject({ reason: 'aborted', closedWith: 'reset' });

    // Undone with one under way, which ends by itself: the listener goes with it.
    const second = new AbortController();
    const late = await lingering(second.signal, 1);
    late.control();
    expect(listeners(second.signal)).toBe(1);
    late.clients[0]!.end();
    await within(late.control.drained(), 5000, 'drained()');
    await until(() => listeners(second.signal) === 0, 1000, 'the listener to go');
    expect(reports[2]).toMatchObject({ reason: 'eof' });

    // Undone with nothing under way: at once.
    const third = new AbortController();
    const idle = enableLingeringClose(server, { signal: third.signal });
    idle();
    await until(() => listeners(third.signal) === 0, 1000, 'the listener to go');
  });

  it('a server closed (not undone) lets go of a long-lived signal once its lingers are over; listening again, it is watched again', async () => {
    // Before, the signal's action held every such server (and its handler) until the signal
    // aborted or was collected: ~2 KB a server, 1,000 of 1,000 kept in a loop of short-lived ones.
    const shutdown = new AbortController();
    const reports: LingerReport[] = [];
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      socket.destroy(); // lingers natively: its peer never sends its FIN
    });
    const control = enableLingeringClose(server, { idleTimeout: LONG, maxTimeout: LONG, signal: shutdown.signal, onReport: (r) => reports.push(r) });
    cleanups.add(() => closeServer(server), control);
    await listen(server);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await until(() => getEventListeners(shutdown.signal, 'abort').length === 0, 5000, 'the signal to let go of the closed server');

    // Listening again: the signal is back, and its abort ends the close under way.
    await listen(server);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
    const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    client.resume();
    cleanups.add(() => void client.destroy());
    await until(() => control.stats().lingering === 1, 5000, 'a close under way');
    shutdown.abort();
    await until(() => reports.length === 1, 5000, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'aborted' });
  });

  it('twelve servers share one signal through one listener (no MaxListenersExceededWarning); the abort undoes them all', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    cleanups.add(() => void process.off('warning', onWarning));
    const shutdown = new AbortController();
    const servers = Array.from({ length: 12 }, () => net.createServer());
    const controls = servers.map((server) => enableLingeringClose(server, { signal: shutdown.signal }));
    cleanups.add(...controls);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
    // Undone one by one with nothing under way, the last one takes the listener with it.
    const other = new AbortController();
    const undone = servers.slice(0, 2).map((server) => enableLingeringClose(net.createServer(), { signal: other.signal }));
    for (const control of undone) control();
    await until(() => getEventListeners(other.signal, 'abort').length === 0, 1000, 'the listener to go');
    shutdown.abort();
    // Undone: each server can be enabled again.
    for (const server of servers) enableLingeringClose(server)();
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
    // Node emits the warning on the next tick after the listener that crosses the limit.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('refuses a signal that is not an AbortSignal; an aborted one enables nothing', async () => {
    const server = net.createServer();
    expect(() => enableLingeringClose(server, { signal: {} as AbortSignal })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
    );
    const control = enableLingeringClose(server, { signal: AbortSignal.abort() });
    // Nothing to undo: enabling again is allowed.
    const again = enableLingeringClose(server);
    again();
    control();
  });
});

