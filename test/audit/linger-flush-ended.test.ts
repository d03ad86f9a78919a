// A lingering close that ends while Node still flushes (its clients never read an 8 MB response;
// closeAllConnections(); the idle timeout): the audit's look at that close must find the linger's
// report. It came a turn later (after the close, for lingeringClose()'s promise), so the audit
// counted 5 resets asked for, none lingered, and published `lingered: null`.
import diagnosticsChannel from 'node:diagnostics_channel';
import http from 'node:http';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { until, within } from '../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('audit of lingering closes that end during the flush', () => {
  it('closeAllConnections() with responses Node still holds: every close counted and published as lingered', async () => {
    const CLIENTS = 5;
    const server = http.createServer((_req, res) => res.end('b'.repeat(8_000_000)));
    const reports: string[] = [];
    const control = sockclose.enableLingeringClose(server, { idleTimeout: 300, onReport: (r) => reports.push(`${r.reason}:${r.closedWith}`) });
    const audit = sockclose.auditCloses(server);
    const published: (string | null)[] = [];
    const onClose = (message: unknown) => published.push((message as { close: { lingered: { reason: string } | null } }).close.lingered?.reason ?? null);
    diagnosticsChannel.subscribe(sockclose.ChannelNames.auditClose, onClose);
    cleanups.push(() => diagnosticsChannel.unsubscribe(sockclose.ChannelNames.auditClose, onClose), () => audit.stop(), control, () => closeServer(server));
    await listen(server);
    let answered = 0;
    server.on('request', () => answered++);
    for (let i = 0; i < CLIENTS; i++) {
      const client = net.connect(portOf(server), '127.0.0.1', () => client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      client.pause(); // never reads: Node keeps most of the 8 MB
      client.on('error', () => {});
      cleanups.push(() => client.destroy());
    }
    await until(() => answered === CLIENTS, 5000, 'every request answered');
    server.closeAllConnections(); // the flush stage, then the idle timeout
    await within(control.drained(), 10_000, 'the lingers to end');
    await until(() => published.length === CLIENTS, 5000, 'every close published');
    await until(() => reports.length === CLIENTS, 5000, 'every report'); // onReport: once each descriptor closed
    expect(reports).toEqual(Array(CLIENTS).fill('idle-timeout:reset'));
    expect(audit.counts()).toMatchObject({ closed: CLIENTS, lingered: CLIENTS });
    expect(published).toEqual(Array(CLIENTS).fill('idle-timeout'));
    expect(audit.summary()).toMatch(/lingering close handled 5/);
  });
});
