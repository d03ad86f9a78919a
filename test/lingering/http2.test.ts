// Lingering close of http2 servers (h2c and over TLS). http2's graceful close (session.close():
// GOAWAY, then once its streams are done socket.end() and socket.resume(), with no 'data' listener)
// leaves a half-closed socket whose input nobody reads: it must be drained within the linger's
// bounds (maxDrainBytes) and counted, as the native lingerer drains, not read in JavaScript (and
// decrypted) until maxTimeout.
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';

import { describe, expect, it } from 'vitest';

import { http2Get } from '../helpers/http2.js';
import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { until, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';

const { enableLingeringClose, lingeringClose } = sockclose;
type LingerReport = Awaited<ReturnType<typeof lingeringClose>>;
const cleanups = cleanupsAfterEach();

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/**
 * A raw http2 client: GET / on stream 1 (HPACK from the static table), SETTINGS acknowledged; once
 * the server's GOAWAY and the response's END_STREAM are in, it writes PING frames as fast as the
 * server takes them, until the connection ends or `capBytes` are written. Resolves with the bytes
 * written after the response.
 */
function floodAfterGoaway(socket: net.Socket, secure: boolean, capBytes: number): Promise<{ sentAfter: number; goaway: boolean }> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    let goaway = false;
    let ended = false;
    let flooding = false;
    let sentAfter = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ sentAfter, goaway });
    };
    const pings = Buffer.concat(Array.from({ length: 4096 }, () => frame(6, 0, 0, Buffer.from('12345678'))));
    const flood = (): void => {
      while (!done && !socket.destroyed && sentAfter < capBytes) {
        sentAfter += pings.length;
        if (!socket.write(pings)) return void socket.once('drain', flood);
      }
      if (sentAfter >= capBytes) finish();
    };
    socket.on('error', finish);
    socket.on('close', finish);
    // Half-open: the server's FIN (and close_notify) does not end our side; we keep writing.
    socket.on('end', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (flooding) return;
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const [type, flags] = [buffered[3]!, buffered[4]!];
        if (type === 7) goaway = true;
        if ((type === 0 || type === 1) && (flags & 1) !== 0) ended = true;
        if (type === 4 && (flags & 1) === 0) socket.write(frame(4, 1, 0));
        buffered = buffered.subarray(9 + length);
      }
      if (goaway && ended) {
        flooding = true;
        flood();
      }
    });
    const headers = Buffer.from([0x82, 0x84, secure ? 0x87 : 0x86, 0x41, 9, ...Buffer.from('localhost')]);
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0), frame(1, 0x5, 1, headers)]));
  });
}

describe('lingering close of http2 servers', () => {
  for (const secure of [false, true]) {
    it(`${secure ? 'h2 (TLS)' : 'h2c'}: a peer flooding after GOAWAY is cut at maxDrainBytes, counted, not read until maxTimeout`, async () => {
      const { key, cert } = testCert();
      const server = secure ? http2.createSecureServer({ key, cert }) : http2.createServer();
      const reports: LingerReport[] = [];
      const maxDrainBytes = 1024 * 1024;
      const control = enableLingeringClose(server, { maxDrainBytes, idleTimeout: 2000, maxTimeout: 8000, onReport: (report) => reports.push(report) });
      server.on('stream', (stream) => {
        stream.respond({ ':status': 200 });
        stream.end('hello');
        stream.session?.close(); // GOAWAY; once the stream is done, socket.end() and resume()
      });
      const started = Date.now();
      await listen(server);
      cleanups.add(() => closeServer(server), control);
      const port = portOf(server);
      const socket = secure
        ? tls.connect({ port, host: '127.0.0.1', ALPNProtocols: ['h2'], rejectUnauthorized: false, allowHalfOpen: true } as tls.ConnectionOptions)
        : net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      cleanups.add(() => void socket.destroy());
      // 512 MiB cap: the server must have cut the connection long before (it read it all, and
      // more until maxTimeout, before the fix).
      const flooded = await within(floodAfterGoaway(socket, secure, 512 * 1024 * 1024), 30_000, 'the flooding client');
      await until(() => reports.length === 1, 10_000, 'the report');
      expect(flooded.goaway).toBe(true);
      const [report] = reports;
      expect(report).toMatchObject({ reason: 'drain-limit', closedWith: 'reset' });
      // The native lingerer reads at most one byte past the limit; what it took over may add one read.
      expect(report!.drainedBytes).toBeGreaterThan(maxDrainBytes);
      expect(report!.drainedBytes).toBeLessThanOrEqual(maxDrainBytes + 64 * 1024 + 1);
      // Ended by the drain limit, not held to maxTimeout (8 s).
      expect(Date.now() - started).toBeLessThan(6000);
      expect(flooded.sentAfter).toBeLessThan(64 * 1024 * 1024);
      expect(control.stats()).toMatchObject({ lingering: 0, reasons: { 'drain-limit': 1, 'max-timeout': 0 } });
      expect(control.stats().drainedBytes).toBe(report!.drainedBytes);
    });
  }

  it('h2 (TLS): a graceful close whose peer answers the GOAWAY by closing ends as eof, once', async () => {
    const { key, cert } = testCert();
    const server = http2.createSecureServer({ key, cert });
    const reports: LingerReport[] = [];
    const control = enableLingeringClose(server, { onReport: (report) => reports.push(report) });
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      stream.end('x'.repeat(100_000));
      stream.session?.close();
    });
    await listen(server);
    cleanups.add(() => closeServer(server), control);
    const client = http2.connect(`https://127.0.0.1:${portOf(server)}`, { rejectUnauthorized: false });
    cleanups.add(() => void client.destroy());
    client.on('error', () => undefined);
    const request = client.request({ ':path': '/' });
    let received = 0;
    request.on('data', (chunk: Buffer) => (received += chunk.length));
    await within(new Promise((resolve) => request.on('close', resolve)), 10_000, 'the response');
    expect(received).toBe(100_000);
    client.close();
    await within(control.drained(), 10_000, 'drained()');
    await until(() => reports.length === 1, 5000, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'eof', closedWith: 'close' });
    expect(control.stats()).toMatchObject({ lingering: 0, peakLingering: 1, resets: 0, reasons: { eof: 1 } });
  });

  for (const secure of [false, true]) {
    it(`${secure ? 'tls' : 'net'} server, resume() then end(): a peer flooding after our FIN is cut at maxDrainBytes while half-closed, counted`, async () => {
      const { key, cert } = testCert();
      const reports: LingerReport[] = [];
      const maxDrainBytes = 1024 * 1024;
      const onSocket = (socket: net.Socket): void => {
        socket.on('error', () => undefined);
        socket.resume(); // the input is not wanted: Node reads and throws it away
        socket.end('bye');
      };
      const server = secure ? tls.createServer({ key, cert }, onSocket) : net.createServer(onSocket);
      const control = enableLingeringClose(server, { maxDrainBytes, idleTimeout: 2000, maxTimeout: 8000, onReport: (report) => reports.push(report) });
      const started = Date.now();
      await listen(server);
      cleanups.add(() => closeServer(server), control);
      const port = portOf(server);
      const socket = secure
        ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, allowHalfOpen: true } as tls.ConnectionOptions)
        : net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      cleanups.add(() => void socket.destroy());
      const chunk = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const flooded = new Promise<void>((resolve) => {
        const flood = (): void => {
          while (!socket.destroyed && sent < 512 * 1024 * 1024) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', flood);
          }
          resolve();
        };
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.on('data', () => undefined);
        // Our FIN (and close_notify) in: the server is half-closed; flood from now on.
        socket.once('end', flood);
      });
      await within(flooded, 30_000, 'the flooding client');
      await until(() => reports.length === 1, 10_000, 'the report');
      expect(reports[0]).toMatchObject({ reason: 'drain-limit', closedWith: 'reset' });
      // Counted per chunk Node reads (TLS: decrypted): at most one past the limit.
      expect(reports[0]!.drainedBytes).toBeGreaterThan(maxDrainBytes);
      expect(reports[0]!.drainedBytes).toBeLessThanOrEqual(maxDrainBytes + 64 * 1024);
      expect(Date.now() - started).toBeLessThan(6000);
      expect(sent).toBeLessThan(64 * 1024 * 1024);
      expect(control.stats()).toMatchObject({ lingering: 0, reasons: { 'drain-limit': 1, 'max-timeout': 0 } });
    });
  }

  it("lingeringClose() on a live session's socket rejects ERR_INVALID_ARG_VALUE and closes nothing: the response still arrives", async () => {
    const { key, cert } = testCert();
    const server = http2.createSecureServer({ key, cert });
    const outcomes: unknown[] = [];
    server.on('stream', (stream) => {
      stream.respond({ ':status': 413 });
      stream.end('too large');
      // Before: the socket was end()ed under the session, its HEADERS and DATA never sent, and
      // the close reported as 'eof'; the client saw no response at all.
      lingeringClose(stream.session!.socket).then(
        (report) => outcomes.push(report.reason),
        (error: NodeJS.ErrnoException) => outcomes.push(error.code),
      );
      stream.session?.close();
    });
    await listen(server);
    cleanups.add(() => closeServer(server));
    const client = http2.connect(`https://127.0.0.1:${portOf(server)}`, { rejectUnauthorized: false });
    cleanups.add(() => void client.destroy());
    client.on('error', () => undefined);
    expect(await http2Get(client)).toEqual({ status: 413, body: 'too large' });
    await until(() => outcomes.length === 1, 5000, 'the lingeringClose() outcome');
    expect(outcomes).toEqual(['ERR_INVALID_ARG_VALUE']);
  });
});
