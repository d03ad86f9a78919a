// Lingering close over TLS: close_notify goes out before our FIN (the kernel-level TLS client
// reports 'ragged-eof' for a FIN without it), also on forced close paths, and the response is
// never lost to an RST.
import https from 'node:https';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { BODY_END, getRequest, LATE_REQUEST, lingeringHttp } from './http-server.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';

const { lingeringClose } = sockclose;

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();

async function start(handler: Parameters<typeof lingeringHttp>[1], options: https.ServerOptions = {}) {
  const { key, cert } = testCert();
  const started = await lingeringHttp(https.createServer({ key, cert, ...options }), handler);
  cleanups.add(() => closeServer(started.server), started.disable);
  return started;
}

function tooLarge(_req: unknown, res: import('node:http').ServerResponse): void {
  res.writeHead(413, { Connection: 'close' });
  res.end(`too large ${BODY_END}`);
}

describe('lingering close over TLS', () => {
  it('https: a 413 to a 4 MB POST arrives whole, after close_notify', async () => {
    const { port, nextReport } = await start(tooLarge);
    const size = 4 * 1024 * 1024;
    const seen = await peer.run({
      port,
      tls: true,
      steps: [{ sendText: `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${size}\r\n\r\n` }, { send: size }, { recvEnd: true }],
    });
    expect(seen.head).toMatch(/^HTTP\/1\.1 413 /);
    expect(seen.head).toContain(BODY_END);
    expect(seen).toMatchObject({ end: 'eof', sendError: null });
    const report = await nextReport();
    expect(report).toMatchObject({ reason: 'eof', closedWith: 'close' });
    expect(report.drainedBytes).toBeGreaterThan(size / 2);
  });

  it("https: Node's own client sees the 413 and no error", async () => {
    const { port, nextReport } = await start(tooLarge);
    const body = Buffer.alloc(4 * 1024 * 1024, 'b');
    for (let run = 0; run < 5; run++) {
      const outcome = await within(
        new Promise<{ status: number | null; text: string; error: string | null }>((resolve) => {
          let status: number | null = null;
          let text = '';
          let error: string | null = null;
          const req = https.request(
            { port, host: '127.0.0.1', method: 'POST', rejectUnauthorized: false, agent: false, headers: { 'Content-Length': body.length } },
            (res) => {
              status = res.statusCode ?? null;
              res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
            },
          );
          req.on('error', (cause: NodeJS.ErrnoException) => (error ??= cause.code ?? cause.message));
          req.on('close', () => resolve({ status, text, error }));
          req.end(body);
        }),
        20_000,
        'the https request',
      );
      expect(outcome).toEqual({ status: 413, text: `too large ${BODY_END}`, error: null });
      expect((await nextReport()).reason).toBe('eof');
    }
  });

  it('https keep-alive timeout (a forced close): close_notify, then the late request is drained', async () => {
    const { port, nextReport, requests } = await start((_req, res) => res.end(`ok ${BODY_END}`), { keepAliveTimeout: 100 });
    const seen = await peer.run({
      port,
      tls: true,
      steps: [{ sendText: getRequest() }, { recvText: BODY_END }, { recvEnd: true }, { sendText: LATE_REQUEST }],
    });
    expect(seen).toMatchObject({ end: 'eof', sendError: null });
    const report = await nextReport();
    expect(report.reason).toBe('eof');
    // TLS record bytes: the late request, encrypted, and the client's close.
    expect(report.drainedBytes).toBeGreaterThan(LATE_REQUEST.length);
    expect(requests.map((req) => req.url)).toEqual(['/']);
  });

  it('https closeAllConnections(): close_notify even for a request never answered', async () => {
    const { port, nextReport, server } = await start(() => setImmediate(() => server.closeAllConnections()));
    const seen = await peer.run({ port, tls: true, steps: [{ sendText: getRequest('/never') }, { recvEnd: true }] });
    expect(seen).toMatchObject({ received: 0, end: 'eof' });
    expect((await nextReport()).reason).toBe('eof');
  });

  it('lingeringClose() on a tls.Server socket delivers 600,000 bytes and close_notify', async () => {
    const { key, cert } = testCert();
    const reports: Promise<Awaited<ReturnType<typeof lingeringClose>>>[] = [];
    const server = tls.createServer({ key, cert }, (socket) => {
      socket.write(Buffer.alloc(600_000, 'x'));
      reports.push(lingeringClose(socket));
    });
    await listen(server);
    cleanups.add(() => closeServer(server));
    // 'abcd' after the first response byte, so after lingeringClose() began: sent right after the
    // handshake, it could reach Node's TLS layer before the call (in the handshake's last read,
    // under ASan in CI) and sit in the stream's buffer, never drained (drainedBytes 0).
    const seen = await peer.run({ port: portOf(server), tls: true, steps: [{ recvUntil: 1 }, { sendText: 'abcd' }, { recvEnd: true }] });
    expect(seen).toMatchObject({ received: 600_000, end: 'eof', sendError: null });
    expect(reports).toHaveLength(1);
    const report = await within(reports[0]!, 10_000, 'the report');
    expect(report.reason).toBe('eof');
    expect(report.drainedBytes).toBeGreaterThan(4);
  });

  it('a plain FIN without close_notify is what the client would see otherwise (the judge works)', async () => {
    // Control for the assertions above: destroy() sends no close_notify, and the client says so.
    const { key, cert } = testCert();
    const server = tls.createServer({ key, cert }, (socket) => {
      socket.on('error', () => {});
      socket.write('hello', () => socket.destroy());
    });
    await listen(server);
    cleanups.add(() => closeServer(server));
    const seen = await peer.run({ port: portOf(server), tls: true, steps: [{ recvEnd: true }] });
    expect(seen).toMatchObject({ received: 5, end: 'ragged-eof' });
  });

  // Node's TLSWrap keeps the close_notify's size in writeQueueSize after writing it: read as
  // "still queued", it held every quiet peer's close in the flush until the idle timeout, and then
  // ended it with RST ('idle-timeout') though the peer had finished cleanly.
  it.each([
    ['end() then destroy() at finish (a lingering server)', 'server'],
    ['lingeringClose()', 'direct'],
  ])('TLS, %s, a quiet peer: handed over at once, then the peer\'s close_notify and FIN end it as eof', async (_name, how) => {
    const { key, cert } = testCert();
    const LONG = 60_000;
    const reports: Array<{ reason: string; closedWith: string }> = [];
    let serverSocket: tls.TLSSocket | undefined;
    const server = tls.createServer({ key, cert }, (socket) => {
      serverSocket = socket;
      socket.on('error', () => {});
      if (how === 'server') {
        socket.end('hello');
        socket.once('finish', () => socket.destroy());
      } else {
        socket.write('hello');
        void lingeringClose(socket, { idleTimeout: LONG, maxTimeout: LONG }).then((report) => reports.push(report));
      }
    });
    if (how === 'server') {
      const control = sockclose.enableLingeringClose(server, { idleTimeout: LONG, maxTimeout: LONG, onReport: (report) => reports.push(report) });
      cleanups.add(control);
    }
    await listen(server);
    cleanups.add(() => closeServer(server));
    const client = tls.connect({ port: portOf(server), host: '127.0.0.1', rejectUnauthorized: false, allowHalfOpen: true });
    client.on('error', () => {});
    client.resume();
    await nextEvent(client, 'end', 5000); // our close_notify and FIN
    // Node let go of the socket: the native lingerer has it (before, only at the idle timeout).
    await until(() => serverSocket !== undefined, 5000, 'the connection');
    if (!serverSocket!.closed) await nextEvent(serverSocket!, 'close', 5000);
    expect(reports).toEqual([]);
    client.end(); // the peer's close_notify and FIN
    await until(() => reports.length === 1, 5000, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'eof', closedWith: 'close' });
  });

  it('TLS over a JavaScript stream (no descriptor) is left to Node: a half-close takes no place and ends with no report, as a destroy() does', async () => {
    // Two Duplex ends joined in memory: what carries TLS over a proxy's stream, or a test's.
    const ends: Duplex[] = [];
    for (let i = 0; i < 2; i++) {
      ends.push(
        new Duplex({
          read() {},
          write(chunk, _encoding, done) {
            ends[1 - i]!.push(chunk);
            done();
          },
          final(done) {
            ends[1 - i]!.push(null);
            done();
          },
        }),
      );
    }
    const { key, cert } = testCert();
    const reports: unknown[] = [];
    let serverSocket: tls.TLSSocket | undefined;
    const server = tls.createServer({ key, cert }, (socket) => {
      serverSocket = socket;
      socket.on('error', () => {});
      socket.end('hello'); // our half-close; the client never ends its side until told
    });
    const control = sockclose.enableLingeringClose(server, { idleTimeout: 100, onReport: (report) => reports.push(report) });
    cleanups.add(control);
    server.emit('connection', ends[0]);
    const client = tls.connect({ socket: ends[1]!, rejectUnauthorized: false, allowHalfOpen: true });
    client.on('error', () => {});
    client.resume();
    await nextEvent(client, 'end', 5000);
    await until(() => serverSocket?.writableFinished === true, 5000, "the server's half-close");
    expect(control.stats()).toMatchObject({ lingering: 0, peakLingering: 0 });
    expect(() => sockclose.socketFd(serverSocket!)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NO_FD' }));
    client.end();
    await nextEvent(serverSocket!, 'close', 5000);
    expect(control.stats()).toMatchObject({ lingering: 0, peakLingering: 0 });
    expect(Object.values(control.stats().reasons).every((count) => count === 0)).toBe(true);
    expect(reports).toEqual([]);
  });
});
