// A raw socket that a lingering net server accepted and gave to a lingering https server
// (`back.emit('connection', socket)`, as a front that sniffs the protocol does): the https server
// makes a TLSSocket over it, and the connection is that TLSSocket's. docs/lingering.md: a socket
// handed between servers "lingers under the one holding it at its close"; one connection, one
// linger. Node's close of the TLSSocket's handle (after the hand-over) destroys the raw socket
// next, on the same descriptor, and that close lingered too, under the front: two dups, two
// reports (the drained bytes split between them), two places counted for one connection.
// The same with STARTTLS: a TLSSocket the application made over a lingering net server's socket
// and closed with lingeringClose() lingered once in the thread's pool, then again under the server.
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { within } from '../helpers/wait.js';
import { BODY_END } from './http-server.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';
import type { Report } from './reporting-server.js';

const { enableLingeringClose, lingeringClose, lingeringCloseStats } = sockclose;
const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();

describe('a raw socket a lingering net server gives to a lingering https server', () => {
  it('lingers once, under the https server: close_notify, one report with every drained byte', async () => {
    const { key, cert } = testCert();
    const back = https.createServer({ key, cert }, (_req, res) => {
      res.writeHead(413, { Connection: 'close' });
      res.end(`too large ${BODY_END}`);
    });
    const front = net.createServer((socket) => back.emit('connection', socket));
    const frontReports: Report[] = [];
    const backReports: Report[] = [];
    const frontControl = enableLingeringClose(front, { onReport: (report) => frontReports.push(report) });
    const backControl = enableLingeringClose(back, { onReport: (report) => backReports.push(report) });
    await listen(front);
    cleanups.add(() => closeServer(front), frontControl, backControl);
    const before = lingeringCloseStats();

    // A 413 to a 1 MB upload the handler never reads: the client sends it all, reads to the end.
    const size = 1024 * 1024;
    const seen = await peer.run({
      port: portOf(front),
      tls: true,
      steps: [{ sendText: `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${size}\r\n\r\n` }, { send: size }, { recvEnd: true }],
    });
    expect(seen.head).toContain(BODY_END);
    expect(seen).toMatchObject({ end: 'eof', sendError: null });
    await within(Promise.all([frontControl.drained(), backControl.drained()]), 10_000, 'both servers drained');

    const after = lingeringCloseStats();
    const reports = { front: frontReports, back: backReports };
    expect(reports.back, JSON.stringify(reports)).toHaveLength(1);
    expect(reports.front, JSON.stringify(reports)).toEqual([]);
    expect(backReports[0]).toMatchObject({ reason: 'eof', closedWith: 'close' });
    // Every byte of the upload that Node had not read is in this one report (TLS records: more).
    expect(backReports[0]!.drainedBytes).toBeGreaterThan(size / 2);
    expect(frontControl.stats()).toMatchObject({ peakLingering: 0, drainedBytes: 0 });
    expect(backControl.stats()).toMatchObject({ peakLingering: 1, reasons: { eof: 1 } });
    expect(after.reasons.eof - before.reasons.eof).toBe(1);
  });

  it("STARTTLS on a lingering net server's socket: lingeringClose() of the TLSSocket is the connection's one linger", async () => {
    const { key, cert } = testCert();
    const closes: Promise<Report>[] = [];
    // The server answers over TLS made on its plain socket (as SMTP, IMAP and PostgreSQL servers
    // upgrade a connection), then closes the TLSSocket with lingeringClose().
    const server = net.createServer((socket) => {
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: tls.createSecureContext({ key, cert }) });
      secure.on('error', () => {});
      secure.once('data', () => {
        secure.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY_END.length}\r\n\r\n${BODY_END}`);
        closes.push(lingeringClose(secure));
      });
    });
    const serverReports: Report[] = [];
    const control = enableLingeringClose(server, { onReport: (report) => serverReports.push(report) });
    await listen(server);
    cleanups.add(() => closeServer(server), control);
    const before = lingeringCloseStats();

    const seen = await peer.run({ port: portOf(server), tls: true, steps: [{ sendText: 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n' }, { send: 64 * 1024 }, { recvEnd: true }] });
    expect(seen.head).toContain(BODY_END);
    expect(seen).toMatchObject({ end: 'eof', sendError: null });
    expect(closes).toHaveLength(1);
    const report = await within(closes[0]!, 10_000, "lingeringClose()'s report");
    await within(control.drained(), 10_000, 'the net server drained');

    expect(report).toMatchObject({ reason: 'eof', closedWith: 'close' });
    // The raw socket's close, right after, is the same connection's: no second linger, in any pool.
    const after = lingeringCloseStats();
    expect(after.reasons.eof - before.reasons.eof, JSON.stringify({ report, serverReports })).toBe(1);
    expect(serverReports.filter((seen) => seen.drainedBytes !== report.drainedBytes)).toEqual([]);
  });
});
