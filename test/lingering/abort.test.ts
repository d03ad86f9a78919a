// lingeringClose()'s signal: aborting ends the close at once in whatever stage it is (the flush in
// JavaScript, the linger in native code), closed as a timeout closes it; what the peer saw is
// judged by a kernel-level client. Every idle timeout here is long: a close that waited it out
// would fail the test on its report's timeout.
import { getEventListeners } from 'node:events';
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, connectionsLeftOnServer, listen, portOf, tcpPair } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { until, within } from '../helpers/wait.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';

const { lingeringClose, enableLingeringClose } = sockclose;
type LingerReport = Awaited<ReturnType<typeof lingeringClose>>;
type CallOptions = NonNullable<Parameters<typeof lingeringClose>[1]>;

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();
const LONG = 60_000;

/** A server that lingering-closes each connection with `options`; `onConnection` may abort. */
async function abortableServer(
  onConnection: (socket: net.Socket, controller: AbortController) => void,
  options: CallOptions = {},
): Promise<{ server: net.Server; port: number; report: Promise<LingerReport> }> {
  let resolveReport!: (report: Promise<LingerReport>) => void;
  const report = new Promise<Promise<LingerReport>>((resolve) => (resolveReport = resolve));
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    const controller = new AbortController();
    onConnection(socket, controller);
    resolveReport(lingeringClose(socket, { idleTimeout: LONG, maxTimeout: LONG, ...options, signal: options.signal ?? controller.signal }));
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
    });
    // Our FIN arrives, then the peer stays silent; its send after the pause meets the reset
    // (EPIPE: a reset after the FIN, as Linux names it; without one the send would succeed).
    const seen = peer.run({ port, steps: [{ send: 4 }, { recvEnd: true }, { waitMs: 1500 }, { send: 1 }], timeoutMs: 10_000 });
    const r = await report;
    expect(r).toMatchObject({ reason: 'aborted', closedWith: 'reset', drainedBytes: 4, error: null });
    expect(r.durationMs).toBeLessThan(LONG);
    expect(connectionsLeftOnServer(server)).toBe(0);
    expect(await seen).toMatchObject({ end: 'eof', sendError: 'EPIPE' });
  });

  it('aborted during the flush (a peer that reads nothing): ends at once with RST, what libuv held dropped', async () => {
    const { port, report } = await abortableServer((socket, controller) => {
      socket.write(Buffer.alloc(8 * 1024 * 1024)); // far more than the kernel's buffers take
      setTimeout(() => controller.abort(), 200);
    });
    const seen = peer.run({ port, rcvbuf: 16 * 1024, steps: [{ waitMs: 1000 }, { recvEnd: true }], timeoutMs: 10_000 });
    const r = await report;
    expect(r).toMatchObject({ reason: 'aborted', closedWith: 'reset', error: null });
    const result = await seen;
    expect(result.received).toBeLessThan(8 * 1024 * 1024);
    expect(result.end).toBe('ECONNRESET');
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
    const seen = peer.run({ port: portOf(server), steps: [{ recvEnd: true }, { waitMs: 1000 }], timeoutMs: 10_000 });
    await until(() => closes.length === 1, 5000, 'the connection');
    expect(await within(closes[0]!, 10_000, 'the report')).toMatchObject({ reason: 'aborted', closedWith: 'reset' });
    expect(control.stats()).toMatchObject({ lingering: 0, resets: 1 });
    expect(control.stats().reasons).toMatchObject({ aborted: 1, eof: 0, 'idle-timeout': 0 });
    await seen;
  });

  it('listens only while the close runs; an abort after it ended changes nothing', async () => {
    const { client, server } = await tcpPair();
    cleanups.add(() => void client.destroy());
    const controller = new AbortController();
    const close = lingeringClose(server, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    client.end(); // the peer finishes: the linger ends with its FIN
    client.resume();
    expect(await within(close, 10_000, 'the report')).toMatchObject({ reason: 'eof', closedWith: 'close' });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(() => controller.abort()).not.toThrow();
  });

  it('refuses a signal that is not an AbortSignal, as Node does', async () => {
    const { client, server } = await tcpPair();
    cleanups.add(() => void client.destroy(), () => void server.destroy());
    for (const signal of [{}, 'abort', 1, null]) {
      await expect(lingeringClose(server, { signal } as unknown as CallOptions)).rejects.toMatchObject({
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_TYPE',
        message: expect.stringContaining('"options.signal" property must be an instance of AbortSignal'),
      });
    }
    expect(server.destroyed).toBe(false);
  });
});
