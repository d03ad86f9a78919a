// The JavaScript side of the native lingerer (native/lingerer.h): hands a descriptor over, and
// turns the batches of finished lingers the loop delivers into pool counters and, only where
// somebody waits for one, report objects.
//
// Nothing is kept per lingering connection unless a report is awaited (a lingeringClose()
// promise, an onReport listener): a connection handed over is, to JavaScript, a counter in its
// pool until its report arrives.
import { pendingSocketError } from '../errors.js';
import type { PlatformBehaviour } from '../platform/behaviour.js';
import { platform } from '../platform/index.js';
import { requireNative } from '../target.js';
import type { LingerSettings } from './options.js';
import type { LingerPool } from './pool.js';
import type { LingerEndReason, LingerReport } from './types.js';

/** lingerStart() flags (native/lingerer.h StartFlag). */
const Flag = { finSent: 1, resetOnTimeout: 2, resetAfterShutdownIsEnd: 4, lingerChecked: 8, inputEnded: 16, ackedBeforeEof: 32, unreadResets: 64 } as const;

/** EndReason numbers (native/lingerer.h) to names. */
const REASONS: readonly LingerEndReason[] = ['eof', 'idle-timeout', 'max-timeout', 'error', 'drain-limit', 'aborted'];
/** Numbers per report in a batch (native/lingerer_api.cc kReportFields). */
const FIELDS = 10;

/** What a hand-over needs besides the descriptor. */
export interface HandOver {
  readonly fd: number;
  readonly pool: LingerPool;
  readonly settings: LingerSettings;
  /** Bytes Node read and dropped before the hand-over (during the flush). */
  readonly drainedBytes: number;
  /** Milliseconds of the total cap already spent (the flush before the hand-over). */
  readonly elapsedMs: number;
  /** Milliseconds since the close's last progress (half-closed or flushing): the idle clock runs on. */
  readonly idleSpentMs: number;
  /** Node already handed the kernel our FIN. */
  readonly finSent: boolean;
  /** SO_LINGER was read and is off. */
  readonly lingerChecked: boolean;
  /** Node saw the peer's FIN. */
  readonly inputEnded: boolean;
  /** A close can send RST (TCP; AF_UNIX has none, whatever SO_LINGER says). */
  readonly canReset: boolean;
  /**
   * What Node's handle read from the descriptor and handed to it (TCP: the transport's `bytesRead`,
   * and its `bytesWritten` less what libuv still holds), or -1 each: against the kernel's counts
   * they let the lingerer's first look skip a read (native sys::platform::PeerAfterRead()).
   */
  readonly readBytes: number;
  readonly writtenBytes: number;
}

/** Receives one linger's report (and builds nothing unless it exists). */
export type ReportConsumer = (report: LingerReport) => void;

/**
 * How a hand-over went: the native lingerer has it (the number is its token, for
 * {@link cutLinger}), an abortive close was asked for, or the failure.
 */
export type HandOverResult = number | 'abortive' | HandOverFailure;

/** Why nothing was taken: `errno` (negative) from `syscall`. */
export interface HandOverFailure {
  errno: number;
  syscall: string;
}

/** lingerStart()'s base for a failure of the poller's own call (native/lingerer.h kStartPollerFailed). */
const POLLER_FAILED = -(1 << 16);
/** lingerStart()'s base for a failure to read SO_LINGER (native/lingerer.h kStartGetLingerFailed). */
const GET_LINGER_FAILED = -(2 << 16);

const consumers = new Map<number, ReportConsumer>();
// Of a report whose close reset, our bytes the kernel had not sent (our FIN counted as one), where
// the lingerer looked: no public field, only the harness's verdict asks whether our FIN left.
const unsentAtReset = new WeakMap<LingerReport, number>();
// The pools the native lingerer holds connections of, by id: only while it holds some (a server
// dropped without undoing lingering close must not stay reachable from here).
const pools = new Map<number, LingerPool>();
// The pool of the last report, while it still has connections there.
let lastPool: LingerPool | null = null;
let nextToken = 0;
let sinkInstalled = false;

// Read once a pool exists, not at the hand-over: the platform's module must not be loaded lazily
// at the moment a close runs (the descriptor table may be full then, as in an EMFILE fallback).
let resetAfterShutdownIsEnd = false;
let unreadInputResets: PlatformBehaviour['unreadInputResets'] = { tcp: false, unix: false };
let abortiveCloseSendsNoReset: PlatformBehaviour['abortiveCloseSendsNoReset'] = () => false;

/** Readies hand-overs for a new pool (reads the platform's rules while descriptors are free). */
export function preparePool(): void {
  const rules = platform();
  resetAfterShutdownIsEnd = rules.resetAfterShutdownIsEnd;
  unreadInputResets = rules.unreadInputResets;
  abortiveCloseSendsNoReset = rules.abortiveCloseSendsNoReset;
}

/**
 * Gives the connection to the native lingerer. On a token (lingering) the caller lets Node close
 * its own copy of the descriptor at once; `consumer`, if given, receives the report later.
 */
export function handOver(request: HandOver, consumer: ReportConsumer | null): HandOverResult {
  const native = requireNative(handOver);
  if (!sinkInstalled) {
    native.lingerSink(onBatch);
    sinkInstalled = true;
  }
  const { settings } = request;
  const flags =
    (request.finSent ? Flag.finSent : 0) |
    (settings.onTimeout === 'reset' && request.canReset ? Flag.resetOnTimeout : 0) |
    (resetAfterShutdownIsEnd ? Flag.resetAfterShutdownIsEnd : 0) |
    (request.lingerChecked ? Flag.lingerChecked : 0) |
    (request.inputEnded ? Flag.inputEnded : 0) |
    // TCP (canReset; AF_UNIX otherwise): the peer's FIN ends the linger once our bytes are
    // acknowledged (AF_UNIX has no such wait).
    (request.canReset ? Flag.ackedBeforeEof : 0) |
    // Where the kernel resets a plain close on unread input (not the BSDs and macOS).
    (unreadInputResets[request.canReset ? 'tcp' : 'unix'] ? Flag.unreadResets : 0);
  const token = nextToken;
  nextToken = (nextToken + 1) >>> 0;
  const left = Math.max(0, Math.ceil(settings.maxTimeout - request.elapsedMs));
  const result = native.lingerStart(
    request.fd,
    token,
    request.pool.id,
    flags,
    settings.idleTimeout,
    left,
    settings.maxDrainBytes,
    request.drainedBytes,
    request.elapsedMs,
    Math.min(request.idleSpentMs, settings.idleTimeout),
    request.readBytes,
    request.writtenBytes,
  );
  if (result === 0) {
    const { pool } = request;
    // Known to the batches (its reports name it by number) while it has connections there.
    if (pool.handedOver++ === 0) pools.set(pool.id, pool);
    if (consumer) consumers.set(token, consumer);
    return token;
  }
  if (result === 1) return 'abortive';
  if (result > POLLER_FAILED) return { errno: result, syscall: 'dup' };
  // Only a poller with a descriptor of its own (epoll) fails there, and names its call.
  if (result > GET_LINGER_FAILED) return { errno: result - POLLER_FAILED, syscall: native.lingerPrepareCall };
  return { errno: result - GET_LINGER_FAILED, syscall: 'getsockopt' };
}

/**
 * Ends the linger of `token` now, as its caller asked (see native/lingerer.h Cut()); its report
 * comes in a later batch. A no-op once it has ended.
 */
export function cutLinger(token: number): void {
  requireNative(cutLinger).lingerCut(token);
}

/** Ends every linger `pool` has in the native lingerer now; their reports come in a later batch. */
export function cutPool(pool: LingerPool): void {
  if (pool.handedOver > 0) requireNative(cutPool).lingerCutGroup(pool.id);
}

/** Connections the native lingerer of this thread holds now (0 without the binary). */
export function nativeLingering(): number {
  return sinkInstalled ? requireNative(nativeLingering).lingerCount() : 0;
}

function onBatch(reports: Float64Array): void {
  for (let i = 0; i + FIELDS <= reports.length; i += FIELDS) {
    const token = reports[i]!;
    const reason = REASONS[reports[i + 2]!] ?? 'error';
    // Input a bound's close left unread (-1, unknown, counts as none): that close was a reset.
    const unread = Math.max(0, reports[i + 7]!);
    const unsent = reports[i + 8]!;
    // SO_LINGER {1, 0} was set; whether the kernel then sent RST is the platform's rule, from the
    // TCP state read just before (Linux sends none from LAST_ACK or CLOSING with nothing unsent:
    // the peer had finished, and our bytes and FIN were all sent but not yet acknowledged).
    const reset = reports[i + 4] === 1 && (unread > 0 || !abortiveCloseSendsNoReset(reports[i + 9]!, unsent));
    const drainedBytes = reports[i + 5]!;
    // Most batches are one server's: its pool is the last one's (a Map lookup per report saved).
    const id = reports[i + 1]!;
    const pool = lastPool !== null && lastPool.id === id ? lastPool : (pools.get(id) ?? null);
    if (pool) {
      pool.finish(reason, drainedBytes, reset);
      if (--pool.handedOver === 0) {
        pools.delete(pool.id);
        if (lastPool === pool) lastPool = null;
      } else {
        lastPool = pool;
      }
    }
    // Nobody waits for most reports (a server without onReport): no lookup then.
    const consumer = consumers.size === 0 ? undefined : consumers.get(token);
    if (!consumer) continue;
    consumers.delete(token);
    const errno = reports[i + 3]!;
    // A LingerReport variant (types.ts): native/lingerer.cc's Finish() resets only the closes a
    // timeout, the drain limit or a cut ended (kResetOnTimeout), and looks for unread input only on
    // those (see Report::unread_bytes); an error is named for 'error' only.
    const report = {
      reason,
      drainedBytes,
      durationMs: reports[i + 6]!,
      closedWith: reset || unread > 0 ? 'reset' : 'close',
      unreadBytes: unread,
      error: reason === 'error' && errno > 0 ? pendingSocketError(errno, 'read', false, handOver) : null,
      shortened: false,
    } as LingerReport;
    if (unsent >= 0 && report.closedWith === 'reset') unsentAtReset.set(report, unsent);
    consumer(report);
  }
}

/**
 * Our bytes (our FIN counted as one) the kernel had not yet sent when the native lingerer's close
 * of `report` reset: that reset discarded them, our FIN with them unless this is 0. Null where it
 * was not looked at (no reset, everything of ours already acknowledged, AF_UNIX) or the platform
 * cannot tell (Linux's TCP_INFO only).
 */
export function unsentAtLingerReset(report: LingerReport): number | null {
  return unsentAtReset.get(report) ?? null;
}
