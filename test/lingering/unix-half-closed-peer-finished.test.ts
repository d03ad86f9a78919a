// AF_UNIX: a half-closed socket whose peer finished while the application left its input unread
// (a paused socket: Node emits no 'end' until the input is consumed). docs/lingering.md, Bounds,
// "our half-close": "If the peer's FIN came meanwhile and only the application's unread input held
// the socket, the idle timeout still ends it, but as the peer's end: 'eof', a normal close, no
// RST". Only TCP's end was looked for (its state): on AF_UNIX the close was reported as an idle
// timeout and, closed with the input unread, as the reset Linux makes of that (`closedWith:
// 'reset'`, `unreadBytes` 4: the peer's next read fails with ECONNRESET).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, tempDir } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';
import type { Report } from './reporting-server.js';

const { enableLingeringClose } = sockclose;
const cleanups = cleanupsAfterEach();

// The peer's FIN (sent by this process, after our end reached it) must reach the kernel before
// the idle timeout, counted from our half-close: 1 s leaves a stall of this process room (300 ms
// left about that much).
const IDLE = 1000;

describe('AF_UNIX, half-closed, the peer finished behind input the application never read', () => {
  it("ends at the idle timeout as the peer's end: eof, a normal close, the input drained", async () => {
    const dir = tempDir('sockclose-unix-');
    cleanups.add(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'server.sock');
    const reports: Report[] = [];
    // Never reads (paused from the start); answers and half-closes.
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      socket.end('response');
    });
    const control = enableLingeringClose(server, { idleTimeout: IDLE, maxTimeout: 20_000, onReport: (report) => reports.push(report) });
    await listen(server, { path: file });
    cleanups.add(() => closeServer(server), control);

    const client = net.connect({ path: file, allowHalfOpen: true });
    cleanups.add(() => void client.destroy());
    client.on('error', () => {});
    client.write('abcd');
    client.resume();
    await nextEvent(client, 'end', 5000);
    expect(control.stats().lingering).toBe(1);
    // The peer finishes: its end waits in the kernel behind the 4 bytes nobody read.
    client.end();
    await until(() => reports.length === 1, 20 * IDLE, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'eof', closedWith: 'close', unreadBytes: 0, drainedBytes: 4 });
    expect(control.stats()).toMatchObject({ lingering: 0, reasons: { eof: 1, 'idle-timeout': 0 } });
  });
});
