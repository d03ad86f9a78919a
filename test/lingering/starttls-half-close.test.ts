// A TLSSocket the application makes over a socket of a lingering net server (STARTTLS, as SMTP,
// IMAP and PostgreSQL servers upgrade a connection) is that server's connection: its close is a
// lingering close under that server. docs/lingering.md, Bounds: our half-close is "counted from
// 'finish' on, bounded by the timeouts" for "enableLingeringClose() servers' connections on a
// descriptor", and "none holds it past maxTimeout". The TLSSocket was found under no server: after
// its end() a silent peer held the connection past maxTimeout, counted nowhere (`lingering` 0), and
// lingeringClose() of it was counted in the thread's pool, outside the server's maxLingering.
import net from 'node:net';
import tls from 'node:tls';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';
import type { Report } from './reporting-server.js';

const { enableLingeringClose, lingeringClose } = sockclose;
const cleanups = cleanupsAfterEach();

const IDLE = 300;
const MAX = 1000;

/** A net server that upgrades each connection to TLS and, at its first bytes, closes it with `close`. */
async function starttlsServer(close: (secure: tls.TLSSocket) => void) {
  const { key, cert } = testCert();
  const secureContext = tls.createSecureContext({ key, cert });
  const server = net.createServer((raw) => {
    raw.on('error', () => {});
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext });
    secure.on('error', () => {});
    secure.once('data', () => close(secure));
  });
  const reports: Report[] = [];
  const control = enableLingeringClose(server, { idleTimeout: IDLE, maxTimeout: MAX, onReport: (report) => reports.push(report) });
  await listen(server);
  cleanups.add(() => closeServer(server), control);
  return { server, control, reports };
}

/** A TLS client that sends a line, reads to our end, then stays silent with its side open. */
async function silentClient(port: number): Promise<tls.TLSSocket> {
  // allowHalfOpen (which tls.connect() passes on; its type omits it): our end does not end its side.
  const client = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, allowHalfOpen: true } as tls.ConnectionOptions);
  cleanups.add(() => void client.destroy());
  client.on('error', () => {});
  client.write('hello\n');
  client.resume();
  await nextEvent(client, 'end', 5000);
  return client;
}

describe('STARTTLS on a lingering net server', () => {
  it("the TLSSocket's end(): counted from our half-close, ended at the idle timeout, not held past maxTimeout", async () => {
    const { server, control, reports } = await starttlsServer((secure) => secure.end('bye\n'));
    await silentClient(portOf(server));
    expect(control.stats().lingering).toBe(1);
    // The server lets go of the connection within its bounds (10 times maxTimeout: never a timing test).
    await until(() => reports.length === 1, 10 * MAX, 'the half-closed connection to end within its bounds');
    expect(reports[0]).toMatchObject({ reason: 'idle-timeout', closedWith: 'reset' });
    expect(reports[0]!.durationMs).toBeLessThan(MAX);
    expect(control.stats()).toMatchObject({ lingering: 0, peakLingering: 1, reasons: { 'idle-timeout': 1 }, resets: 1 });
    await within(control.drained(), 5000, 'the server drained');
  });

  it('lingeringClose() of the TLSSocket is counted in the server pool and reported to its onReport', async () => {
    const closes: Promise<Report>[] = [];
    const { server, control, reports } = await starttlsServer((secure) => {
      secure.write('bye\n');
      closes.push(lingeringClose(secure));
    });
    await silentClient(portOf(server));
    expect(closes).toHaveLength(1);
    const report = await within(closes[0]!, 10 * MAX, "lingeringClose()'s report");
    expect(report).toMatchObject({ reason: 'idle-timeout' });
    expect(reports).toEqual([report]);
    expect(control.stats()).toMatchObject({ lingering: 0, peakLingering: 1, reasons: { 'idle-timeout': 1 } });
  });
});
