// Found with Express and Koa (a 413 with keep-alive, the upload never read): the client reads the
// 413 and closes mid-upload; Node reads the rest and the client's FIN, its parser fails
// (HPE_INVALID_EOF_STATE), and Node's default 'clientError' answer writes a 400 to a peer that has
// closed: the peer's kernel answers with RST. The connection is over (TCP CLOSE, the 400 never
// acknowledged, EPIPE pending) before Node's destroy(error). The linger went on all the same: the
// lingerer reads the FIN again (a read after a FIN returns 0 even with a reset pending), waits for
// the acknowledgement of the 400, which never comes, and ends at the idle timeout, reported as
// 'idle-timeout' with an RST sent (stats.resets, and the close audit's "asked for") to a
// connection that no longer existed, its descriptor and its place in maxLingering held meanwhile.
// The same for a destroy(error) whose system error is the write's EPIPE: kernelPeerEnd() says
// 'fin' of a connection closed by a FIN then a reset. The close audit counted such a close as a
// clean FIN (plain Node) or as an RST asked for (lingering close): it was already over.
import http from 'node:http';
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';

const { auditCloses, enableLingeringClose } = sockclose;
type LingerReport = Parameters<NonNullable<NonNullable<Parameters<typeof enableLingeringClose>[1]>['onReport']>>[0];
const cleanups = cleanupsAfterEach();
/** Uploads at most, for three closes counted already over (plain Node's test). */
const MAX_UPLOADS = 10;

/** Posts `size` bytes as fast as it can, destroys the socket as soon as the 413 is in. */
function abandoningUploader(port: number, size: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    cleanups.add(() => void socket.destroy());
    let received = '';
    socket.on('connect', () => {
      socket.write(`POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${size}\r\n\r\n`);
      socket.write(Buffer.alloc(size, 0x61));
    });
    socket.on('data', (data: Buffer) => {
      received += data.toString('latin1');
      if (received.includes('too large')) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', () => undefined);
  });
}

describe('a connection the peer reset after its FIN, before the hand-over', () => {
  it("keep-alive 413, the client gone mid-upload, Node's 400 reset: 'error', not an idle timeout", async () => {
    const reports: LingerReport[] = [];
    const server = http.createServer((_request, response) => {
      response.statusCode = 413;
      response.end('too large');
    });
    const control = enableLingeringClose(server, { idleTimeout: 4000, onReport: (report) => reports.push(report) });
    const audit = auditCloses(server);
    await listen(server);
    cleanups.add(() => closeServer(server), control, () => audit.stop());
    for (let i = 0; i < 3; i++) {
      const received = await within(abandoningUploader(portOf(server), 32 * 1024 * 1024), 10_000, 'the 413');
      expect(received).toMatch(/^HTTP\/1\.1 413 /);
    }
    await until(() => reports.length === 3, 10_000, 'three reports');
    for (const report of reports) {
      expect(report).toMatchObject({ reason: 'error', closedWith: 'close' });
      // EPIPE: the reset came before our FIN (CLOSE_WAIT), as it does when loopback delivers at
      // once. A loaded machine may defer its delivery (ksoftirqd) past our FIN (LAST_ACK), where
      // Linux names it ECONNRESET: a reset all the same, which the lingerer must end on as well.
      expect(['EPIPE', 'ECONNRESET']).toContain(report.error?.code);
    }
    expect(control.stats()).toMatchObject({ lingering: 0, resets: 0, reasons: { error: 3, 'idle-timeout': 0 } });
    await until(() => audit.counts().closed === 3, 5000, 'three audited closes');
    expect(audit.counts().ends).toMatchObject({ none: 3, rst: 0, fin: 0 });
  });

  it('plain Node (no lingering close): the close audit says already over, not FIN', async () => {
    const server = http.createServer((_request, response) => {
      response.statusCode = 413;
      response.end('too large');
    });
    const audit = auditCloses(server);
    await listen(server);
    cleanups.add(() => closeServer(server), () => audit.stop());
    // The case: the peer's reset (its kernel's answer to Node's 400) is in before Node's close,
    // which loopback makes so unless its delivery waits (most likely ksoftirqd on a loaded
    // machine: seen once in CI, one close of three counted 'fin', the connection not yet over).
    // Uploads go on until three closes were counted already over; before the fix none ever was.
    let uploads = 0;
    while (uploads < MAX_UPLOADS && audit.counts().ends.none < 3) {
      const received = await within(abandoningUploader(portOf(server), 32 * 1024 * 1024), 10_000, 'the 413');
      expect(received).toMatch(/^HTTP\/1\.1 413 /);
      uploads++;
      await until(() => audit.counts().closed === uploads, 5000, 'the audited close');
    }
    const { ends, closed } = audit.counts();
    expect(ends).toMatchObject({ none: 3, rst: 0 });
    expect(ends.none + ends.fin).toBe(closed);
  });
});

describe('a connection the peer reset after its FIN, while its response was still going out', () => {
  /** A peer that sends its request with its FIN, never reads, and resets when told. */
  async function halfClosedReader(port: number): Promise<net.Socket> {
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    cleanups.add(() => void client.destroy());
    client.on('error', () => undefined);
    client.pause();
    await nextEvent(client, 'connect');
    client.end('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    return client;
  }

  for (const [name, size] of [
    ['in the native lingerer (the response all in the kernel)', 1024 * 1024],
    ["before the hand-over (Node's write failed, destroy(EPIPE))", 16 * 1024 * 1024],
  ] as const) {
    it(`${name}: 'error', not an idle timeout with an RST to no connection`, async () => {
      const reports: LingerReport[] = [];
      const server = http.createServer((_request, response) => {
        response.writeHead(200, { connection: 'close' });
        response.end(Buffer.alloc(size, 0x79));
      });
      const control = enableLingeringClose(server, { idleTimeout: 4000, onReport: (report) => reports.push(report) });
      await listen(server);
      cleanups.add(() => closeServer(server), control);
      const client = await halfClosedReader(portOf(server));
      // The response fills what the kernels hold; the small one is then lingering natively,
      // waiting for its acknowledgement, the large one still in Node's hands.
      await until(() => (sockclose.inspectSocket(client).unreadBytes ?? 0) > 0, 5000, 'the response to arrive');
      if (size < 2 * 1024 * 1024) await until(() => control.stats().lingering === 1, 5000, 'the linger');
      client.destroy(); // unread input: an RST
      await until(() => reports.length === 1, 10_000, 'the report');
      expect(reports[0]).toMatchObject({ reason: 'error', closedWith: 'close' });
      expect(['EPIPE', 'ECONNRESET']).toContain(reports[0]!.error?.code);
      expect(control.stats()).toMatchObject({ lingering: 0, resets: 0, reasons: { error: 1, 'idle-timeout': 0 } });
    });
  }
});
