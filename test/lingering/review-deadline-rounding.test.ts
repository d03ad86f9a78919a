// "The timeouts are never early: they count from the hand-over itself" (docs/lingering.md, Bounds).
// The native lingerer counted them from the hand-over's time truncated to the millisecond, so a
// hand-over late in a millisecond had its deadlines up to 1 ms early: a review measured reports of
// 99.2 to 99.5 ms for a 100 ms idleTimeout or maxTimeout (1 to 5 of 50 silent peers, each handed
// over 0.9 ms or more into a millisecond). Here every hand-over is made that late in its
// millisecond (of the monotonic clock libuv and process.hrtime() share), and no report may say
// less than its bound.
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { until } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';
import { reportingServer } from './reporting-server.js';

const cleanups = cleanupsAfterEach();

const BOUND = 100;
const PEERS = 60;

/** Returns once the monotonic clock is at least 0.9 ms into a millisecond (at most 1 ms of spinning). */
function lateInAMillisecond(): void {
  while (process.hrtime.bigint() % 1_000_000n < 900_000n);
}

describe('native lingerer deadlines are never early', () => {
  it.each([
    ['idle-timeout', { idleTimeout: BOUND, maxTimeout: 20 * BOUND }],
    ['max-timeout', { idleTimeout: 20 * BOUND, maxTimeout: BOUND }],
  ] as const)('%s: a silent peer handed over late in a millisecond is held its whole bound', async (reason, options) => {
    const accepted: net.Socket[] = [];
    const { port, reports, control } = await reportingServer(cleanups, (socket) => void accepted.push(socket), options);
    for (let i = 0; i < PEERS; i++) {
      // allowHalfOpen: the peer never answers our FIN; it reads, and sends nothing.
      const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      client.on('error', () => {});
      client.resume();
      cleanups.add(() => client.destroy());
    }
    await until(() => accepted.length === PEERS, 10_000, `${PEERS} connections`);
    for (const socket of accepted) {
      lateInAMillisecond();
      socket.destroy(); // the hand-over: its linger starts here
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => reports.length === PEERS, 20 * BOUND, `${PEERS} reports (${JSON.stringify(control.stats())})`);
    const durations = reports.map((report) => report.durationMs);
    for (const report of reports) expect(report.reason).toBe(reason);
    const early = durations.filter((duration) => duration < BOUND).map((duration) => duration.toFixed(3));
    expect(early, `reports under ${BOUND} ms`).toEqual([]);
  });
});
