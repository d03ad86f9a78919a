// The bounded-resource accounting: how many sockets linger at once (each holds a descriptor), and
// what happened to every lingering close. Each server with lingering close enabled has its own
// pool; direct lingeringClose() calls share the thread's. Every pool also adds to the thread's
// totals.
import type { PoolLimits } from './options.js';
import type { LingerReport, LingeringCloseStats } from './types.js';

/** How a pool admits one more lingering socket. */
export type Admission = 'full' | 'short' | 'refused';

function emptyStats(): LingeringCloseStats {
  return {
    lingering: 0,
    peakLingering: 0,
    reasons: { eof: 0, 'idle-timeout': 0, 'max-timeout': 0, error: 0, 'drain-limit': 0, overload: 0 },
    shortened: 0,
    resets: 0,
    drainedBytes: 0,
  };
}

/** Counters only: the thread's totals. */
class Tally {
  protected readonly counters = emptyStats();

  enter(): void {
    this.counters.lingering += 1;
    this.counters.peakLingering = Math.max(this.counters.peakLingering, this.counters.lingering);
  }

  leave(): void {
    this.counters.lingering -= 1;
  }

  record(report: LingerReport): void {
    this.counters.reasons[report.reason] += 1;
    this.counters.drainedBytes += report.drainedBytes;
    if (report.shortened) this.counters.shortened += 1;
    if (report.closedWith === 'reset') this.counters.resets += 1;
  }

  snapshot(): LingeringCloseStats {
    return { ...this.counters, reasons: { ...this.counters.reasons } };
  }
}

const thread = new Tally();

/** A set of lingering sockets under one bound. */
export class LingerPool extends Tally {
  constructor(readonly limits: PoolLimits) {
    super();
  }

  /** Takes a place for a socket about to linger, or refuses (then nothing is held). */
  admit(): Admission {
    const { lingering } = this.counters;
    if (lingering >= this.limits.maxLingering) return 'refused';
    this.enter();
    thread.enter();
    return lingering >= this.limits.shortLingerAbove ? 'short' : 'full';
  }

  /** Gives back the place {@link admit} took. */
  release(): void {
    this.leave();
    thread.leave();
  }

  /** Counts a finished (or refused) lingering close. */
  override record(report: LingerReport): void {
    super.record(report);
    thread.record(report);
  }
}

/** The counters of every lingering close in this thread. */
export function threadStats(): LingeringCloseStats {
  return thread.snapshot();
}
