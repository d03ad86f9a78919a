// SO_LINGER on a connection Node had already ended (http's destroySoon(), end() then destroy()) is
// read by the native lingerer before a close it can change, not at the hand-over: after both FINs
// with ours acknowledged the kernel has ended the connection, and no close can wait or send anything
// then (issue 10: the common end costs no getsockopt). What the settings ask must hold all the same:
// - setLinger(socket, 0) resets at once, no linger (the hand-over's mark, src/linger-marks.ts);
//   replaced by setLinger(socket, false), the close lingers as usual;
// - a positive linger set behind our back (a raw descriptor, other native code) never blocks the
//   loop: turned off before a close that could wait on it;
// - {1, 0} set behind our back: the linger runs, a bound's close resets as the setting asks (also
//   under onTimeout 'close'), and a peer that read everything and closed gets a clean end.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type net from 'node:net';

import { describe, expect, it } from 'vitest';

import { connectionsLeftOnServer } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { until } from '../helpers/wait.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';
import { reportingServer, type EnableOptions } from './reporting-server.js';

const { setLinger, socketFd } = sockclose;

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();
const RESPONSE = 256 * 1024;
/** Past the lingers' 5 s cap: whatever ends a linger, its report has come by then. */
const REPORT_MS = 10_000;
const OPTIONS: EnableOptions = { idleTimeout: 300, maxTimeout: 5000, onTimeout: 'close' };

/**
 * A server whose connections send RESPONSE, end, and are destroyed once our FIN is out (so the
 * hand-over comes with our FIN sent, the native lingerer's deferred read); `ended` runs between
 * the end and the destroy, on the socket Node has ended.
 */
function endingServer(ended: (socket: net.Socket) => void, options: EnableOptions = OPTIONS) {
  return reportingServer(
    cleanups,
    (socket) => {
      socket.end(Buffer.alloc(RESPONSE, 1), () => {
        ended(socket);
        socket.destroy();
      });
    },
    options,
  );
}

describe('SO_LINGER of a connection Node had ended: read before a close it can change', () => {
  it('setLinger(socket, 0) once our FIN is out: reset at once, no linger, no report', async () => {
    // An idle timeout far past this test's waits: a linger would hold the connection through them.
    const { server, port, reports, control } = await endingServer((socket) => setLinger(socket, 0), {
      ...OPTIONS,
      idleTimeout: 20_000,
      maxTimeout: 30_000,
    });
    // The peer reads nothing and never finishes: only our reset ends the connection.
    const seen = await peer.run({ port, rcvbuf: 16 * 1024, steps: [{ send: 4 }, { awaitError: true }], timeoutMs: 5000 });
    // The reset can beat the peer's connect() or send() (under load it did): whichever call met it
    // says so. A linger would let both succeed and leave the wait for an error to time out.
    expect([seen.connectError, seen.sendError, seen.awaited]).toEqual(expect.arrayContaining([expect.stringMatching(/^(ECONNRESET|EPIPE|error)$/)]));
    await until(() => connectionsLeftOnServer(server) === 0, 5000, 'the connection to leave the server');
    expect(reports).toHaveLength(0);
    expect(control.stats().lingering).toBe(0);
  });

  it('setLinger(socket, 0) then setLinger(socket, false) after end(): the close lingers as usual', async () => {
    const { port, reports, control } = await endingServer((socket) => {
      setLinger(socket, 0);
      setLinger(socket, false);
    });
    const seen = await peer.run({ port, steps: [{ send: 4 }, { recvEnd: true }], timeoutMs: 10_000 });
    await until(() => reports.length === 1, REPORT_MS, 'the report');
    expect(seen).toMatchObject({ received: RESPONSE, end: 'eof' });
    expect(reports[0]).toMatchObject({ reason: 'eof', closedWith: 'close', drainedBytes: 4 });
    expect(control.stats().resets).toBe(0);
  });

  it('a positive SO_LINGER set through the raw descriptor: the close under onTimeout "close" turns it off and never blocks the loop', async () => {
    const { port, reports } = await endingServer((socket) => {
      // A kernel linger far longer than this test's waits: a close() that honoured it would block
      // the loop's thread until the peer read everything, and the peer reads only after the report.
      setLinger(socketFd(socket), 30, { blocking: true });
    });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let report: (typeof reports)[number] | undefined;
    try {
      // The peer half-closes with its window shut: its FIN comes while our bytes wait unacknowledged,
      // so the linger is not over (no state where SO_LINGER cannot matter) until the idle timeout.
      const seen = peer.run(
        {
          port,
          rcvbuf: 16 * 1024,
          steps: [{ send: 4 }, { shutdown: true }, { gate: 'reported' }, { recvEnd: true }],
          timeoutMs: 10_000,
        },
        { reported: () => until(() => reports.length === 1, REPORT_MS, 'the report') },
      );
      await until(() => reports.length === 1, REPORT_MS, 'the report');
      report = reports[0];
      // A normal close: the kernel still delivers what it held, and the peer gets all of it.
      expect(await seen).toMatchObject({ received: RESPONSE, end: 'eof' });
    } finally {
      delay.disable();
    }
    expect(report).toMatchObject({ reason: 'idle-timeout', closedWith: 'close', drainedBytes: 4 });
    expect(report!.durationMs).toBeLessThan(5000);
    // Blocked, the loop would have stood still until the peer read, after the report (30 s at most).
    // (Nothing is asked of the server's sockets after: whichever FIN left first decides whether
    // ours ends in TIME-WAIT, and under load that order changed.)
    expect(delay.max / 1e6).toBeLessThan(10_000);
  });

  it('SO_LINGER {1, 0} set through the raw descriptor: the linger runs, and the idle timeout resets as it asks, under onTimeout "close" too', async () => {
    const { port, reports, control } = await endingServer((socket) => setLinger(socketFd(socket), 0));
    const seen = await peer.run({ port, rcvbuf: 16 * 1024, steps: [{ send: 4 }, { awaitError: true }], timeoutMs: 10_000 });
    await until(() => reports.length === 1, REPORT_MS, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'idle-timeout', closedWith: 'reset', drainedBytes: 4 });
    expect(reports[0]!.durationMs).toBeGreaterThanOrEqual(300);
    expect(seen.awaited).toBe('error');
    expect(control.stats()).toMatchObject({ lingering: 0, resets: 1 });
  });

  it('SO_LINGER {1, 0} set through the raw descriptor, the peer reads everything and closes: a clean end, nothing reset', async () => {
    const { port, reports, control } = await endingServer((socket) => setLinger(socketFd(socket), 0));
    const seen = await peer.run({ port, steps: [{ send: 4 }, { recvEnd: true }], timeoutMs: 10_000 });
    await until(() => reports.length === 1, REPORT_MS, 'the report');
    expect(seen).toMatchObject({ received: RESPONSE, end: 'eof' });
    expect(reports[0]).toMatchObject({ reason: 'eof', closedWith: 'close', drainedBytes: 4 });
    expect(control.stats()).toMatchObject({ lingering: 0, resets: 0 });
  });
});
