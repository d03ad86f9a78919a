// Every way Node's http server closes a connection goes through the lingering close: the client
// (a kernel-level one) gets the whole response and a clean end, what it sends after our FIN is
// drained (never an RST, never a request handed to the application), and each close is reported.
//
// The "late request" is the keep-alive race: a client sends its next request just as the server
// closes an idle connection. Node's plain close answers those bytes with RST; lingering drains
// them and waits for the client's FIN.
import http from 'node:http';

import { describe, expect, it } from 'vitest';

import { closeServer } from '../helpers/net.js';
import { within } from '../helpers/wait.js';
import { answer413, BODY_END, expectCleanLateEnd, expectWhole413, getRequest, LATE, LATE_REQUEST, lingeringHttp, ok, uploadSteps, type LingeringHttp } from './http-server.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();

async function start(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void, options: http.ServerOptions = {}) {
  return lingeringOn(http.createServer(options), handler);
}

/** lingeringHttp() on `server`, disabled and closed after the test. */
async function lingeringOn(
  server: http.Server,
  handler: Parameters<typeof lingeringHttp>[1],
  options?: Parameters<typeof lingeringHttp>[2],
): Promise<LingeringHttp<http.Server>> {
  const started = await lingeringHttp(server, handler, options);
  cleanups.add(() => closeServer(started.server), started.disable);
  return started;
}

describe('http close paths under enableLingeringClose', () => {
  it('Connection: close: a 413 to a 4 MB POST arrives whole, the body is drained', async () => {
    const { port, nextReport, requests } = await start(answer413);
    const size = 4 * 1024 * 1024;
    expectWhole413(await peer.run({ port, steps: uploadSteps(size) }));
    const report = await nextReport();
    expect(report).toMatchObject({ reason: 'eof', closedWith: 'close' });
    // Most of the body was still unread when the response ended (the rest went to the parser).
    expect(report.drainedBytes).toBeGreaterThan(size / 2);
    expect(requests).toHaveLength(1);
  });

  it('HTTP/1.0: the reply to a POST whose body is never read arrives whole', async () => {
    const { port, nextReport } = await start((_req, res) => ok(res));
    const size = 1_000_000;
    const seen = await peer.run({
      port,
      steps: [{ sendText: `POST / HTTP/1.0\r\nContent-Length: ${size}\r\n\r\n` }, { send: size }, { recvEnd: true }],
    });
    expect(seen.head).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(seen.head).toContain(BODY_END);
    expect(seen).toMatchObject({ end: 'eof', sendError: null });
    expect((await nextReport()).reason).toBe('eof');
  });

  it('Connection: close reply to a GET with a body', async () => {
    const { port, nextReport } = await start((_req, res) => ok(res));
    const size = 1_000_000;
    const seen = await peer.run({
      port,
      steps: [{ sendText: getRequest('/', `Connection: close\r\nContent-Length: ${size}\r\n`) }, { send: size }, { recvEnd: true }],
    });
    expect(seen.head).toContain(BODY_END);
    expect(seen).toMatchObject({ end: 'eof', sendError: null });
    expect((await nextReport()).reason).toBe('eof');
  });

  it('keep-alive timeout: the late request is drained, never handled', async () => {
    const server = http.createServer({ keepAliveTimeout: 100 });
    const { port, nextReport, requests } = await lingeringOn(server, (_req, res) => ok(res));
    const seen = await peer.run({ port, steps: [{ sendText: getRequest() }, { recvText: BODY_END }, ...LATE] });
    expectCleanLateEnd(seen);
    const report = await nextReport();
    expect(report).toMatchObject({ reason: 'eof', drainedBytes: LATE_REQUEST.length, closedWith: 'close' });
    expect(requests.map((req) => req.url)).toEqual(['/']);
  });

  it('socket timeout (server.timeout) while the handler has not answered', async () => {
    const { port, nextReport, requests, server } = await start(() => {});
    // 1 s, not less: the GET must be read before it fires, and it is armed at the accept (150 ms
    // was short of a 400 ms stall of this process there: the GET itself drained, no request).
    server.timeout = 1000;
    const seen = await peer.run({ port, steps: [{ sendText: getRequest('/slow') }, ...LATE] });
    expectCleanLateEnd(seen);
    expect(seen.received).toBe(0);
    expect(await nextReport()).toMatchObject({ reason: 'eof', drainedBytes: LATE_REQUEST.length });
    expect(requests.map((req) => req.url)).toEqual(['/slow']);
  });

  it('headers timeout: the 408 arrives, then the late bytes are drained', async () => {
    const { port, nextReport, requests } = await start((_req, res) => ok(res), {
      headersTimeout: 150,
      requestTimeout: 300,
      connectionsCheckingInterval: 50,
    });
    const seen = await peer.run({ port, steps: [{ sendText: 'GET / HTTP/1.1\r\nHost: loc' }, ...LATE] });
    expect(seen.head).toMatch(/^HTTP\/1\.1 408 /);
    expectCleanLateEnd(seen);
    expect(await nextReport()).toMatchObject({ reason: 'eof', drainedBytes: LATE_REQUEST.length });
    expect(requests).toHaveLength(0);
  });

  it('request timeout: a body that never completes gets the 408, then the late bytes are drained', async () => {
    // The headers must be parsed before headersTimeout, counted from the accept (150 ms was short
    // of a 400 ms stall of this process there: a headers timeout's 408, no request): 1 s.
    const { port, nextReport, requests } = await start(
      (req, res) => {
        req.resume();
        req.on('end', () => ok(res));
      },
      { headersTimeout: 1000, requestTimeout: 1000, connectionsCheckingInterval: 50 },
    );
    const seen = await peer.run({
      port,
      steps: [{ sendText: `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n` }, { send: 10 }, ...LATE],
    });
    expect(seen.head).toMatch(/^HTTP\/1\.1 408 /);
    expectCleanLateEnd(seen);
    expect(await nextReport()).toMatchObject({ reason: 'eof', drainedBytes: LATE_REQUEST.length });
    expect(requests).toHaveLength(1);
  });

  it('parse error: the 400 arrives, then the late bytes are drained', async () => {
    const { port, nextReport, requests } = await start((_req, res) => ok(res));
    const seen = await peer.run({ port, steps: [{ sendText: 'NOT HTTP AT ALL\r\n\r\n' }, ...LATE] });
    expect(seen.head).toMatch(/^HTTP\/1\.1 400 /);
    expectCleanLateEnd(seen);
    expect((await nextReport()).reason).toBe('eof');
    expect(requests).toHaveLength(0);
  });

  it('closeIdleConnections(): an idle keep-alive connection lingers', async () => {
    const { port, nextReport, requests, server } = await start((_req, res) => {
      res.once('finish', () => setImmediate(() => server.closeIdleConnections()));
      ok(res);
    });
    const seen = await peer.run({ port, steps: [{ sendText: getRequest() }, { recvText: BODY_END }, ...LATE] });
    expectCleanLateEnd(seen);
    expect(await nextReport()).toMatchObject({ reason: 'eof', drainedBytes: LATE_REQUEST.length });
    expect(requests).toHaveLength(1);
  });

  it('closeAllConnections(): a connection with a request in progress lingers', async () => {
    const { port, nextReport, requests, server } = await start(() => setImmediate(() => server.closeAllConnections()));
    const seen = await peer.run({ port, steps: [{ sendText: getRequest('/never-answered') }, ...LATE] });
    expectCleanLateEnd(seen);
    expect(seen.received).toBe(0);
    expect(await nextReport()).toMatchObject({ reason: 'eof', drainedBytes: LATE_REQUEST.length });
    expect(requests).toHaveLength(1);
  });

  it('server.close(): idle connections linger; control.drained() resolves once their lingers ended', async () => {
    const events: string[] = [];
    let closed: Promise<void> | undefined;
    let drained: Promise<void> | undefined;
    const server = http.createServer();
    const started = await lingeringOn(
      server,
      (_req, res) => {
        res.once('finish', () =>
          setImmediate(() => {
            closed = new Promise<void>((resolve) => server.close(() => resolve()));
            void closed.then(() => events.push('server closed'));
            // Asked right after close(): the idle connection is lingering (or about to).
            drained = started.disable.drained();
            void drained.then(() => events.push('drained'));
          }),
        );
        ok(res);
      },
      { onReport: () => events.push('report') },
    );
    const seen = await peer.run({ port: started.port, steps: [{ sendText: getRequest() }, { recvText: BODY_END }, ...LATE] });
    expectCleanLateEnd(seen);
    expect(await started.nextReport()).toMatchObject({ reason: 'eof', drainedBytes: LATE_REQUEST.length });
    await within(closed!, 5000, "the server's 'close'");
    await within(drained!, 5000, 'drained()');
    // Node lets go of a lingering socket at the hand-over, so the server's 'close' comes first;
    // drained() waits for the linger's end (its report).
    expect(events).toEqual(['server closed', 'report', 'drained']);
    expect(started.disable.stats().lingering).toBe(0);
  });
});
