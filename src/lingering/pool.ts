// The bounded-resource accounting: how many sockets linger at once (each holds a descriptor), and
// how every lingering close ended. Each server with lingering close enabled has its own pool;
// direct lingeringClose() calls share the thread's. Every pool also adds to the thread's totals.
//
// A socket is counted from the moment its close begins (its half-close, or destroy()) until its
// descriptor is closed, whichever stage it is in: flushing in JavaScript, or in the native
// lingerer, whose reports arrive in batches once per loop iteration. The counters live here, in
// JavaScript: stats() reads them without a native call, and no memory is shared with the addon.
import type { PoolLimits } from './options.js';
import type { LingerEndReason, LingeringCloseStats } from './types.js';

/** How a pool admits one more lingering socket. */
export type Admission = 'full' | 'short' | 'refused';

function emptyStats(): LingeringCloseStats {
  return {
    lingering: 0,
    peakLingering: 0,
    reasons: { eof: 0, 'idle-timeout': 0, 'max-timeout': 0, error: 0, 'drain-limit': 0, aborted: 0, overload: 0 },
    shortened: 0,
    resets: 0,
    drainedBytes: 0,
    notNeeded: 0,
  };
}

/** Counters only: the thread's totals. */
class Tally {
  protected readonly counters = emptyStats();

  enter(short: boolean): void {
    const { counters } = this;
    counters.lingering += 1;
    if (counters.lingering > counters.peakLingering) counters.peakLingering = counters.lingering;
    if (short) counters.shortened += 1;
  }

  leave(): void {
    this.counters.lingering -= 1;
  }

  record(reason: LingerEndReason, drainedBytes: number, reset: boolean): void {
    const { counters } = this;
    counters.reasons[reason] += 1;
    counters.drainedBytes += drainedBytes;
    if (reset) counters.resets += 1;
  }

  /** A connection closed without a linger: `mode: 'as-needed'` found none needed. */
  notNeeded(): void {
    this.counters.notNeeded += 1;
  }

  snapshot(): LingeringCloseStats {
    return { ...this.counters, reasons: { ...this.counters.reasons } };
  }
}

const thread = new Tally();
let nextId = 0;

function takeId(): number {
  const id = nextId;
  nextId = (nextId + 1) >>> 0;
  return id;
}

// Every copy of sockclose loaded in this thread (two installs) adds its count of lingering closes
// here, on globalThis (per thread) under a registered symbol: the process audit, whichever copy
// runs it, must count the lingering closes of an application's own copy too.
const COPIES = Symbol.for('sockclose.lingering.copies');
const holder = globalThis as { [COPIES]?: (() => number)[] };
if (holder[COPIES] === undefined) Object.defineProperty(holder, COPIES, { value: [] });
holder[COPIES]!.push(() => thread.snapshot().lingering);

/** A set of lingering sockets under one bound. */
export class LingerPool extends Tally {
  /**
   * How the native lingerer's reports name this pool: a uint32, as the lingerer takes groups
   * (exactly: it refuses anything else), wrapping as hand-over tokens do.
   */
  readonly id = takeId();
  /** Of its lingering sockets, those the native lingerer holds (native-lingerer.ts). */
  handedOver = 0;
  private waiters: (() => void)[] | null = null;
  /**
   * Pools of the same server from before an undo whose sockets still linger: they are the server's
   * sockets, each holding a descriptor, so they count against `maxLingering` and `drained()` waits
   * for them (their own counters stay theirs). Let go of as they drain.
   */
  private earlier: LingerPool[] = [];

  constructor(readonly limits: PoolLimits) {
    super();
  }

  /** Sockets this pool, and the earlier pools it took over, hold now. */
  get lingering(): number {
    return this.counters.lingering + this.earlierLingering();
  }

  /** Takes over `pools` (an undone enable's, of the same server) while their sockets linger. */
  takeOver(pools: readonly LingerPool[]): void {
    for (const pool of pools) if (pool.lingering > 0 && pool !== this) this.earlier.push(pool);
  }

  /** This pool, and those it took over that still linger: what an undo of it leaves lingering. */
  stillLingering(): LingerPool[] {
    this.earlierLingering(); // lets go of the earlier pools that have drained
    return this.counters.lingering > 0 ? [this, ...this.earlier] : [...this.earlier];
  }

  /** Sockets the earlier pools hold now; those that hold none are let go of. */
  private earlierLingering(): number {
    if (this.earlier.length === 0) return 0;
    this.earlier = this.earlier.filter((pool) => pool.lingering > 0);
    let sum = 0;
    for (const pool of this.earlier) sum += pool.counters.lingering;
    return sum;
  }

  /** Counts a connection that closed without a linger, in this pool and the thread's totals. */
  countNotNeeded(): void {
    this.notNeeded();
    thread.notNeeded();
  }

  /** Takes a place for a socket about to linger, or refuses (then nothing is held). */
  admit(): Admission {
    const { lingering } = this;
    if (lingering >= this.limits.maxLingering) return 'refused';
    const short = lingering >= this.limits.shortLingerAbove;
    this.enter(short);
    thread.enter(short);
    return short ? 'short' : 'full';
  }

  /** Gives back the place {@link admit} took, counting how the linger ended. */
  finish(reason: LingerEndReason, drainedBytes: number, reset: boolean): void {
    this.count(reason, drainedBytes, reset);
    this.release();
  }

  /** Gives back the place {@link admit} took, with nothing to count (an abortive close asked for). */
  release(): void {
    this.leave();
    thread.leave();
    if (this.counters.lingering === 0 && this.waiters) {
      const waiters = this.waiters;
      this.waiters = null;
      for (const wake of waiters) wake();
    }
  }

  /** Counts a close that took no place (refused: `'overload'`). */
  count(reason: LingerEndReason, drainedBytes: number, reset: boolean): void {
    this.record(reason, drainedBytes, reset);
    thread.record(reason, drainedBytes, reset);
  }

  /**
   * Resolves once no socket of this pool, nor of the earlier pools it took over, lingers (at once
   * if none does now).
   */
  drained(): Promise<void> {
    const own = this.ownDrained();
    if (this.earlierLingering() === 0) return own;
    return Promise.all([own, ...this.earlier.map((pool) => pool.drained())]).then(() => this.drained());
  }

  private ownDrained(): Promise<void> {
    if (this.counters.lingering === 0) return Promise.resolve();
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }
}

/** The counters of every lingering close in this thread. */
export function threadStats(): LingeringCloseStats {
  return thread.snapshot();
}

/** Lingering closes under way in this thread, those of every copy of sockclose loaded in it. Internal. */
export function lingeringInThread(): number {
  let lingering = 0;
  for (const count of holder[COPIES]!) lingering += count();
  return lingering;
}
