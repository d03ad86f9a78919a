// Node's resetAndDestroy() on a socket whose lingering close is flushing after destroy() (destroyed,
// its handle still open while libuv writes what it holds). docs/lingering.md: "`hardReset()`,
// `resetAndDestroy()` and `setLinger(socket, 0)` still reset at once: an abortive close asked for
// is never turned into a linger". Node took the reset (its handle still open), but the flush went
// on: the peer kept receiving our bytes until the flush's own bound (the idle timeout, or maxTimeout
// for a slow reader), and a flush that completed handed the connection to the native lingerer,
// which lingered on it.
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, connectionsLeftOnServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';

const { enableLingeringClose } = sockclose;
const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();

// Long: a reset held until a bound fails the test on the close's wait, which is far shorter.
const LONG = 20_000;

describe('resetAndDestroy() while the flush after destroy() runs', () => {
  it('resets at once: no linger, no report, its place given back', async () => {
    const reports: unknown[] = [];
    let closing: net.Socket | undefined;
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      closing = socket;
      socket.on('error', () => {});
      // Far more than the kernel's buffers take: destroy() leaves most of it in libuv (the flush).
      socket.write(Buffer.alloc(8 * 1024 * 1024));
      socket.destroy();
    });
    const shutdown = new AbortController();
    const control = enableLingeringClose(server, { idleTimeout: LONG, maxTimeout: LONG, signal: shutdown.signal, onReport: (r) => reports.push(r) });
    await listen(server);
    // Aborted first after the test: a close still flushing would keep the server from closing.
    cleanups.add(() => closeServer(server), control, () => shutdown.abort());
    // Reads nothing until the reset is there: the flush cannot complete before it.
    const seen = peer.run({ port: portOf(server), rcvbuf: 16 * 1024, steps: [{ awaitError: true }, { recvEnd: true }], timeoutMs: 10_000 });
    await until(() => control.stats().lingering === 1, 5000, 'the close to begin (its flush)');
    const socket = closing!;
    expect(socket.destroyed).toBe(true);
    const closed = nextEvent(socket, 'close', 10_000, 'ignore');
    socket.resetAndDestroy();
    await within(closed, 3000, "the socket's 'close' (a reset held in the flush waits for its bound)");
    expect(connectionsLeftOnServer(server)).toBe(0);
    const result = await seen;
    expect(result.connectError ?? result.end).toBe('ECONNRESET');
    expect(result.received).toBeLessThan(8 * 1024 * 1024);
    await within(control.drained(), 5000, 'drained()');
    // An abortive close asked for: not a linger, not counted, no report (as after hardReset()).
    expect(control.stats()).toMatchObject({ lingering: 0, resets: 0 });
    expect(Object.values(control.stats().reasons).every((count) => count === 0)).toBe(true);
    expect(reports).toEqual([]);
  });
});
