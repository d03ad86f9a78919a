// enableLingeringClose({ mode: 'as-needed' }), nginx's `lingering_close on`: an http(s) connection
// whose every request was read whole and answered, with nothing unread, closes as Node closes it
// (no linger, counted as notNeeded, no report); every connection the client may still be sending
// on lingers as under 'always'. Judged by a kernel-level client: a close with no linger answers
// bytes sent after our FIN with RST, a lingering one drains them and ends cleanly.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { until, within } from '../helpers/wait.js';
import { answer413, BODY_END, expectCleanLateEnd, expectWhole413, getRequest, LATE, LATE_REQUEST, lingeringHttp, ok, uploadSteps, type LingeringHttp } from './http-server.js';
import type { PeerResult, Step } from './kernel-peer.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();

/** {@link LATE}, the late request sent only once the server's close was decided (gate 'decided'). */
const LATE_AFTER_CLOSE: Step[] = [{ recvEnd: true }, { gate: 'decided' }, { sendText: LATE_REQUEST }, { awaitError: true }];

/** Opens once the server counted a close with no linger (Node closes the descriptor in that same call). */
function decided(control: LingeringHttp<http.Server>['disable']) {
  return { decided: () => until(() => control.stats().notNeeded === 1, 10_000, 'the close to be decided') };
}
const CLOSE = 'Connection: close\r\n';

/** A lingering http server, in mode 'as-needed' unless `mode` says otherwise ('default': no mode given). */
async function start(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  serverOptions: http.ServerOptions = {},
  mode: 'always' | 'as-needed' | 'default' = 'as-needed',
): Promise<LingeringHttp<http.Server>> {
  const started = await lingeringHttp(http.createServer(serverOptions), handler, mode === 'default' ? {} : { mode });
  cleanups.add(() => closeServer(started.server), started.disable);
  return started;
}

/**
 * The late request met a closed socket: its RST leaves an error pending on the client's socket
 * (after our FIN a read still says EOF: only the pending error tells).
 */
function expectResetLateEnd(seen: PeerResult): void {
  expect(seen, JSON.stringify(seen)).toMatchObject({ awaited: 'error', sendError: null });
}

const zeroReasons = { eof: 0, 'idle-timeout': 0, 'max-timeout': 0, error: 0, 'drain-limit': 0, aborted: 0, overload: 0 };

describe("enableLingeringClose({ mode: 'as-needed' })", () => {
  it("refuses a mode it does not have, before enabling anything; 'always' is the default", async () => {
    const server = http.createServer();
    for (const mode of ['on', 'ALWAYS', 'as needed', true, 1]) {
      expect(() => sockclose.enableLingeringClose(server, { mode: mode as never })).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining("options.mode") }),
      );
    }
    // Nothing was enabled by the refused calls.
    const disable = sockclose.enableLingeringClose(server);
    disable();
    const { port, nextReport, disable: control } = await start((_req, res) => ok(res), {}, 'default');
    const seen = await peer.run({ port, steps: [{ sendText: getRequest('/', CLOSE) }, ...LATE] });
    expectCleanLateEnd(seen);
    expect((await nextReport()).reason).toBe('eof');
    expect(control.stats().notNeeded).toBe(0);
  });

  it('Connection: close after a GET read whole: closed as Node closes it, no linger, counted', async () => {
    const { port, disable, requests } = await start((_req, res) => ok(res));
    const seen = await peer.run({ port, steps: [{ sendText: getRequest('/', CLOSE) }, ...LATE_AFTER_CLOSE] }, decided(disable));
    expect(seen.head).toMatch(/^HTTP\/1\.1 200 /);
    expect(seen.head).toContain(BODY_END);
    expectResetLateEnd(seen);
    expect(requests).toHaveLength(1);
    expect(disable.stats()).toMatchObject({ lingering: 0, peakLingering: 0, reasons: zeroReasons, notNeeded: 1 });
    expect(sockclose.lingeringCloseStats().notNeeded).toBeGreaterThanOrEqual(1);
  });

  it('an early 413 to a 4 MB POST never read: lingers, the 413 arrives whole', async () => {
    const { port, disable, nextReport } = await start(answer413);
    const size = 4 * 1024 * 1024;
    expectWhole413(await peer.run({ port, steps: uploadSteps(size) }));
    const report = await nextReport();
    expect(report.reason).toBe('eof');
    expect(report.drainedBytes).toBeGreaterThan(size / 2);
    expect(disable.stats().notNeeded).toBe(0);
  });

  it('a request pipelined behind the one answered with Connection: close: lingers', async () => {
    const { port, disable, nextReport } = await start((_req, res) => {
      res.setHeader('Connection', 'close');
      ok(res);
    });
    const seen = await peer.run({ port, steps: [{ sendText: getRequest('/first') + getRequest('/second') }, ...LATE] });
    expect(seen.head).toContain(BODY_END);
    expectCleanLateEnd(seen);
    expect((await nextReport()).reason).toBe('eof');
    expect(disable.stats().notNeeded).toBe(0);
  });

  it('a parse error and a headers timeout: the client may still be sending, so both linger', async () => {
    const { port, disable, nextReport } = await start((_req, res) => ok(res), { headersTimeout: 150, requestTimeout: 300, connectionsCheckingInterval: 50 });
    const parseError = await peer.run({ port, steps: [{ sendText: 'NOT HTTP AT ALL\r\n\r\n' }, ...LATE] });
    expect(parseError.head).toMatch(/^HTTP\/1\.1 400 /);
    expectCleanLateEnd(parseError);
    expect((await nextReport()).reason).toBe('eof');
    const timedOut = await peer.run({ port, steps: [{ sendText: 'GET / HTTP/1.1\r\nHost: loc' }, ...LATE] });
    expect(timedOut.head).toMatch(/^HTTP\/1\.1 408 /);
    expectCleanLateEnd(timedOut);
    expect((await nextReport()).reason).toBe('eof');
    expect(disable.stats().notNeeded).toBe(0);
  });

  it('an idle keep-alive connection closed by its timeout: no linger (a request sent as it closes meets RST)', async () => {
    const { port, disable } = await start((_req, res) => ok(res), { keepAliveTimeout: 100 });
    const seen = await peer.run({ port, steps: [{ sendText: getRequest() }, { recvText: BODY_END }, ...LATE_AFTER_CLOSE] }, decided(disable));
    expectResetLateEnd(seen);
    expect(disable.stats()).toMatchObject({ reasons: zeroReasons, notNeeded: 1 });
  });

  it('input waiting unread in the kernel: lingers', async () => {
    let serverSocket: net.Socket | undefined;
    const { port, disable, nextReport } = await start((req, res) => {
      serverSocket = req.socket;
      // Answered; then nobody reads the connection, so the next bytes stay in the kernel.
      res.once('finish', () => setImmediate(() => req.socket.pause()));
      ok(res);
    });
    const destroyed = peer.run(
      {
        port,
        steps: [{ sendText: getRequest() }, { recvText: BODY_END }, { gate: 'unread' }, { sendText: 'GET /unread HTTP/1.1\r\n' }, { gate: 'destroy' }, ...LATE],
      },
      {
        unread: async () => await until(() => serverSocket !== undefined && serverSocket.isPaused(), 10_000, 'the server to stop reading'),
        destroy: async () => {
          await until(() => (sockclose.inspectSocket(serverSocket!).unreadBytes ?? 0) > 0, 10_000, 'the bytes to wait in the kernel');
          serverSocket!.destroy();
        },
      },
    );
    expectCleanLateEnd(await destroyed);
    expect((await nextReport()).reason).toBe('eof');
    expect(disable.stats().notNeeded).toBe(0);
  });

  it("the application's own end() after a finished exchange: the close began half-closed, so it lingers", async () => {
    const { port, disable, nextReport } = await start((req, res) => {
      // Keep-alive: Node leaves the socket open; the application ends it itself once answered.
      res.once('finish', () => req.socket.end());
      ok(res);
    });
    // The client answers our FIN with its own: nothing more to read, so only the half-close that
    // began the close makes this a linger.
    const seen = await peer.run({ port, steps: [{ sendText: getRequest() }, { recvText: BODY_END }, { recvEnd: true }, { shutdown: true }] });
    expect(seen).toMatchObject({ end: 'eof', sendError: null });
    expect((await nextReport()).reason).toBe('eof');
    expect(disable.stats().notNeeded).toBe(0);
  });

  it('a plain net server: no parser says the exchange is done, so it lingers', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', () => socket.end(`ok ${BODY_END}`));
    });
    const disable = sockclose.enableLingeringClose(server, { mode: 'as-needed' });
    cleanups.add(() => closeServer(server), disable);
    await listen(server);
    const seen = await peer.run({ port: portOf(server), steps: [{ sendText: 'hello' }, ...LATE] });
    expectCleanLateEnd(seen);
    await within(disable.drained(), 10_000, 'the linger to end');
    expect(disable.stats()).toMatchObject({ notNeeded: 0, reasons: { ...zeroReasons, eof: 1 } });
  });

  it('https, Connection: close after a GET read whole: closed as Node closes it', async () => {
    const { key, cert } = testCert();
    const started = await lingeringHttp(https.createServer({ key, cert }), (_req, res) => ok(res), { mode: 'as-needed' });
    cleanups.add(() => closeServer(started.server), started.disable);
    const seen = await peer.run({ port: started.port, tls: true, steps: [{ sendText: getRequest('/', CLOSE) }, { recvEnd: true }] });
    expect(seen.head).toMatch(/^HTTP\/1\.1 200 /);
    expect(seen.head).toContain(BODY_END);
    expect(seen.end).toBe('eof');
    await until(() => started.disable.stats().notNeeded === 1, 10_000, 'the close to be counted');
    expect(started.disable.stats()).toMatchObject({ peakLingering: 0, reasons: zeroReasons });
  });
});
