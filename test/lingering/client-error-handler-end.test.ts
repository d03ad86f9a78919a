// A 'clientError' handler that ends the socket (Node's documented pattern:
// `socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')`) leaves an http socket half-closed whose input
// nobody can read: Node's parser has failed (or the server timed the request out) and throws away
// whatever the peer still sends, calling the handler again for every chunk. That drain is the
// lingering close's: bounded by maxDrainBytes and counted, as the native lingerer's is. Left
// half-closed, a peer flooding after a parse error had 2.1 GB read in 1.5 s under an 8 MiB
// maxDrainBytes (the handler called 44,906 times), ended only by maxTimeout and reported as
// drainedBytes 0.
import http from 'node:http';
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { until, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';

const { enableLingeringClose } = sockclose;
type LingerReport = Parameters<NonNullable<NonNullable<Parameters<typeof enableLingeringClose>[1]>['onReport']>>[0];
const cleanups = cleanupsAfterEach();

const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';

/**
 * Sends `head`, then floods (64 KiB writes, backpressure respected) until the connection fails or
 * `capBytes` are written, then ends; reads all along. Resolves once the socket closed.
 */
function floodingClient(port: number, head: string, capBytes: number): Promise<{ received: string; sent: number; error: string | null }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    cleanups.add(() => void socket.destroy());
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const received: Buffer[] = [];
    let sent = 0;
    let error: string | null = null;
    const flood = (): void => {
      while (!socket.destroyed && sent < capBytes) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', flood);
      }
      if (!socket.destroyed) socket.end();
    };
    socket.on('connect', () => {
      socket.write(head);
      flood();
    });
    socket.on('data', (data: Buffer) => received.push(data));
    socket.on('error', (failed: NodeJS.ErrnoException) => (error = failed.code ?? failed.message));
    socket.on('close', () => resolve({ received: Buffer.concat(received).toString('latin1'), sent, error }));
  });
}

describe("an http socket a 'clientError' handler ended", () => {
  for (const [name, head] of [
    ['a parse error (Content-Length: abc)', 'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n'],
    ['a parse error inside a chunked body', 'POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
  ] as const) {
    it(`${name}, then a flood: cut at maxDrainBytes and counted, not read until maxTimeout`, async () => {
      const maxDrainBytes = 1024 * 1024;
      const reports: LingerReport[] = [];
      let clientErrors = 0;
      const server = http.createServer(() => undefined);
      server.on('clientError', (_error: Error, socket: net.Socket) => {
        clientErrors += 1;
        // Node calls it again for every chunk its failed parser is given: answer once.
        if (socket.writable) socket.end(BAD_REQUEST);
      });
      const control = enableLingeringClose(server, {
        maxDrainBytes,
        idleTimeout: 2000,
        maxTimeout: 8000,
        onReport: (report) => reports.push(report),
      });
      await listen(server);
      cleanups.add(() => closeServer(server), control);
      const seen = await within(floodingClient(portOf(server), head, 512 * 1024 * 1024), 30_000, 'the flooding client');
      await until(() => reports.length === 1, 10_000, 'the report');
      await within(control.drained(), 5000, 'drained()');
      // The 400 came first, whole.
      expect(seen.received).toBe(BAD_REQUEST);
      expect(reports[0]).toMatchObject({ reason: 'drain-limit', closedWith: 'reset' });
      expect(reports[0]!.drainedBytes).toBeGreaterThan(maxDrainBytes);
      // The native lingerer reads at most one byte past it; the flush, one read of libuv's.
      expect(reports[0]!.drainedBytes).toBeLessThanOrEqual(maxDrainBytes + 64 * 1024);
      expect(seen.sent).toBeLessThan(64 * 1024 * 1024);
      // Node's failed parser saw at most what came before our FIN.
      expect(clientErrors).toBeLessThan(100);
      expect(control.stats()).toMatchObject({ lingering: 0, resets: 1, reasons: { 'drain-limit': 1, 'max-timeout': 0, eof: 0 } });
    });
  }

  it('a peer that finishes after the 400: eof, its bytes drained and counted', async () => {
    const reports: LingerReport[] = [];
    const server = http.createServer(() => undefined);
    server.on('clientError', (_error: Error, socket: net.Socket) => {
      if (socket.writable) socket.end(BAD_REQUEST);
    });
    const control = enableLingeringClose(server, { onReport: (report) => reports.push(report) });
    await listen(server);
    cleanups.add(() => closeServer(server), control);
    const size = 16 * 1024 * 1024;
    const seen = await within(
      floodingClient(portOf(server), 'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n', size),
      30_000,
      'the client',
    );
    await until(() => reports.length === 1, 10_000, 'the report');
    expect(seen).toMatchObject({ received: BAD_REQUEST, error: null, sent: size });
    expect(reports[0]).toMatchObject({ reason: 'eof', closedWith: 'close' });
    // Counted (0 before): what came after our FIN; what came before it went to Node's failed
    // parser, an amount that depends on the machine's load.
    expect(reports[0]!.drainedBytes).toBeGreaterThan(0);
    expect(reports[0]!.drainedBytes).toBeLessThanOrEqual(size);
    expect(control.stats()).toMatchObject({ lingering: 0, resets: 0, reasons: { eof: 1 } });
  });
});
