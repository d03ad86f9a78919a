// A socket that a lingering net server accepted and handed to another lingering net server
// (`target.emit('connection', socket)`): the server serving it is the one it was given to, as an
// http server given a socket is (http sets `socket.server` to itself, and its entry is found
// first). A net server sets nothing: `socket.server` still named the accepting server, whose entry
// was found first, so the close ran under that server's bounds, in its pool and to its onReport,
// while the server it was given to (and marked it as given) never saw it. With a stricter idle
// timeout on the target, a silent peer was held to the front server's instead.
import http from 'node:http';
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';
import type { Report } from './reporting-server.js';

const { enableLingeringClose } = sockclose;
const cleanups = cleanupsAfterEach();

// The front server's idle timeout: a close held to it fails the test on the report's wait.
const LONG = 20_000;
const IDLE = 300;

describe('a socket handed from one lingering server to another', () => {
  it.each([
    ['a net server', () => net.createServer((socket) => void socket.on('error', () => {}).end('hello'))],
    ['an http server', () => http.createServer((_request, response) => void response.writeHead(200, { Connection: 'close' }).end('hello'))],
  ])('given to %s: lingers under the server it was given to (its bounds, pool and onReport)', async (_kind, makeTarget) => {
    const target = makeTarget();
    const front = net.createServer((socket) => target.emit('connection', socket));
    const frontReports: Report[] = [];
    const targetReports: Report[] = [];
    // Aborted first after the test: a close held to the front's bounds would keep it from closing.
    const shutdown = new AbortController();
    const frontControl = enableLingeringClose(front, { idleTimeout: LONG, maxTimeout: LONG, signal: shutdown.signal, onReport: (r) => frontReports.push(r) });
    const targetControl = enableLingeringClose(target, { idleTimeout: IDLE, maxTimeout: LONG, onReport: (r) => targetReports.push(r) });
    await listen(front);
    cleanups.add(() => closeServer(front), frontControl, targetControl, () => shutdown.abort());
    // Sends a request, reads to our FIN, then stays silent with its side open: the linger ends
    // at the idle timeout of the server whose bounds it runs under.
    const client = net.connect({ port: portOf(front), host: '127.0.0.1', allowHalfOpen: true });
    cleanups.add(() => void client.destroy());
    client.on('error', () => {});
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    client.resume();
    await nextEvent(client, 'end', 5000);
    await until(() => targetReports.length + frontReports.length === 1, 10 * IDLE, "a report within 10 times the target's idle timeout");
    expect(targetReports).toHaveLength(1);
    expect(targetReports[0]).toMatchObject({ reason: 'idle-timeout' });
    expect(frontReports).toEqual([]);
    expect(targetControl.stats().reasons['idle-timeout']).toBe(1);
    expect(frontControl.stats()).toMatchObject({ lingering: 0, peakLingering: 0 });
  });
});
