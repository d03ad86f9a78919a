// A close that ends in JavaScript after the flush that destroy() began (a bound, or the peer's
// reset, while libuv still held bytes of ours) gave its place in the pool back before Node closed
// the descriptor, a few microtasks later: `stats().lingering` said 0 and `drained()` resolved while
// the connection was still open (ESTABLISHED, megabytes in its send queue), and before onReport
// had its report. docs/lingering.md: drained() "resolves once none of the server's sockets
// lingers"; onReport is called "once each linger's descriptor is closed".
import fs from 'node:fs';
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { openSockets } from '../helpers/net.js';
import { until, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';
import { reportingServer } from './reporting-server.js';

const cleanups = cleanupsAfterEach();

const IDLE = 300;

describe('drained() after a close that a flush ended', () => {
  it.each([
    ['the idle timeout (a peer that reads nothing)', 'idle-timeout', false],
    ["the peer's reset", 'error', true],
  ])('ended by %s: when drained() resolves, the descriptor is closed and onReport has the report', async (_how, reason, peerResets) => {
    // The server socket's kernel object ('socket:[inode]'), read while its descriptor is open.
    let link: string | undefined;
    const { port, reports, control } = await reportingServer(
      cleanups,
      (socket) => {
        link = fs.readlinkSync(`/proc/self/fd/${(socket as net.Socket & { _handle: { fd: number } })._handle.fd}`);
        // Far more than the kernel's buffers take: destroy() leaves most of it in libuv (the flush).
        socket.write(Buffer.alloc(8 * 1024 * 1024));
        socket.destroy();
      },
      { idleTimeout: peerResets ? 60_000 : IDLE, maxTimeout: 60_000 },
    );
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    cleanups.add(() => void client.destroy());
    client.on('error', () => {});
    client.pause();
    await until(() => control.stats().lingering === 1, 5000, 'the close to begin (its flush)');
    // Looked at in drained()'s own reaction, before anything else of this test runs.
    const atDrained = control.drained().then(() => ({
      reports: reports.length,
      lingering: control.stats().lingering,
      open: link !== undefined && openSockets().has(link),
    }));
    if (peerResets) client.resetAndDestroy();
    const seen = await within(atDrained, 10_000, 'drained()');
    expect(seen).toEqual({ reports: 1, lingering: 0, open: false });
    expect(reports[0]).toMatchObject({ reason });
  });
});
