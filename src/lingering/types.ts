// The public types of the lingering close.
import type net from 'node:net';

import type { SystemError } from '../errors.js';

/**
 * How a lingering close ended.
 * - `'eof'`: the peer finished sending (its FIN arrived and every byte before it was drained).
 * - `'idle-timeout'`: nothing moved in either direction for `idleTimeout` ms.
 * - `'max-timeout'`: the linger reached `maxTimeout` ms in all.
 * - `'error'`: the peer reset the connection (or it failed otherwise) before its FIN.
 * - `'drain-limit'`: the peer sent more than `maxDrainBytes` while we lingered.
 * - `'aborted'`: the caller ended it (the `signal` of `lingeringClose()` or of
 *   `enableLingeringClose()`); closed as a timeout closes (see `onTimeout`).
 * - `'overload'`: no linger at all: `maxLingering` sockets were already lingering, or no
 *   descriptor could be had for the linger (EMFILE, ENFILE: `error` names the call), so this one
 *   closed at once.
 */
export type LingerEndReason = 'eof' | 'idle-timeout' | 'max-timeout' | 'error' | 'drain-limit' | 'aborted' | 'overload';

/**
 * The fields of every {@link LingerReport}, with their widest types. Each variant of the union
 * narrows some of them by its `reason`: test `reason` to know which.
 */
export interface LingerReportFields {
  /** How the linger ended. */
  reason: LingerEndReason;
  /** Bytes the peer sent that were read and discarded while lingering (TLS: raw record bytes). */
  drainedBytes: number;
  /** Milliseconds from the start of the lingering close to the close of the descriptor. */
  durationMs: number;
  /**
   * How the connection ended: `'close'` (a normal close after our FIN) or `'reset'` (RST: an
   * abortive close, SO_LINGER {1, 0}, by the timeout policy, see `onTimeout`, which an abort follows
   * too; or a plain close with input still unread, which the kernel answers with a reset: see
   * `unreadBytes`).
   */
  closedWith: 'close' | 'reset';
  /**
   * Bytes the peer had sent that were still unread when a bound ended the linger (the drain limit,
   * typically, with the peer still sending): the connection ended with a reset (`closedWith:
   * 'reset'`), which may cost the peer what it had not read of ours. With `onTimeout: 'reset'` that
   * reset was asked for; with `'close'` the kernel makes it, answering a plain close that leaves
   * input unread (TCP sends RST; on Linux an AF_UNIX peer's next read fails with ECONNRESET). 0 when
   * none was, after the peer's FIN or failure, at an idle timeout that resets (a last read just
   * found nothing), and on the BSDs and macOS after a plain close (their kernels discard unread
   * input and send FIN, and are not asked).
   */
  unreadBytes: number;
  /**
   * For `'error'`: the error the connection ended with (`code` such as `'ECONNRESET'`, with `errno`
   * and `syscall`), or null where the lingerer could not name it; for `'overload'` for want of a
   * descriptor: that failure (`'EMFILE'`, with the call that failed); otherwise null. A
   * {@link SystemError} either way.
   */
  error: SystemError | null;
  /** True when the linger was shortened because many sockets were lingering at once. */
  shortened: boolean;
}

/** A {@link LingerReport} of a linger the peer's FIN ended: a normal close, no error. */
export interface LingerEofReport extends LingerReportFields {
  /** `'eof'`: the peer finished sending, and everything it sent before its FIN was drained. */
  reason: 'eof';
  /** Always `'close'`: the timeout policy (`onTimeout`) never applies to a peer that finished. */
  closedWith: 'close';
  /** Always 0: everything the peer sent was drained. */
  unreadBytes: number;
  /** Always null. */
  error: null;
}

/**
 * A {@link LingerReport} of a linger a bound or the caller ended: closed as the timeout policy
 * (`onTimeout`) says, with no error.
 */
export interface LingerTimeoutReport extends LingerReportFields {
  /**
   * `'idle-timeout'`, `'max-timeout'`, `'drain-limit'` (a bound was reached), or `'aborted'` (the
   * caller's `signal`).
   */
  reason: 'idle-timeout' | 'max-timeout' | 'drain-limit' | 'aborted';
  /**
   * `'reset'` when `onTimeout` is `'reset'` (the default) and SO_LINGER {1, 0} could be set (TCP
   * only: AF_UNIX has no RST), or when the plain close left input unread (`unreadBytes` > 0), which
   * the kernel answers with a reset; else `'close'`. Also `'close'` where the kernel sends no RST
   * for that abortive close: on Linux, after the peer's FIN, with everything of ours (our FIN too)
   * sent but not all acknowledged (LAST_ACK, CLOSING), it drops the connection without a word.
   */
  closedWith: 'close' | 'reset';
  /** Always null. */
  error: null;
}

/**
 * A {@link LingerReport} of a linger the connection's failure ended (the peer reset it, or it
 * failed otherwise, before its FIN): closed as Node closes it.
 */
export interface LingerErrorReport extends LingerReportFields {
  /** `'error'`: the connection failed before the peer's FIN. */
  reason: 'error';
  /** Always `'close'`: the connection was already over; no RST is asked for. */
  closedWith: 'close';
  /** Always 0. */
  unreadBytes: number;
  /**
   * The error the connection ended with (`code` such as `'ECONNRESET'`, with `errno` and
   * `syscall`), or null where the lingerer could not name it: test it before reading its `code`.
   */
  error: SystemError | null;
}

/**
 * A {@link LingerReport} of a close that did not linger at all: `maxLingering` sockets were
 * already lingering, or no descriptor could be had for the linger. Closed at once, normally.
 */
export interface LingerOverloadReport extends LingerReportFields {
  /** `'overload'`: no linger, closed at once. */
  reason: 'overload';
  /**
   * 0 when `maxLingering` refused it; when no descriptor could be had, what was drained before the
   * hand-over (a flush of what Node still held, a half-close), else 0.
   */
  drainedBytes: number;
  /**
   * `'close'`, or `'reset'` when input waited unread (`unreadBytes` > 0): the close without a
   * linger is then the RST lingering close exists to prevent.
   */
  closedWith: 'close' | 'reset';
  /**
   * The failure that left the linger without a descriptor (`'EMFILE'`, `'ENFILE'`, with `errno` and
   * the `syscall` that failed), or null when `maxLingering` was the cause.
   */
  error: SystemError | null;
}

/**
 * What happened to one connection's lingering close: one of its variants, told apart by `reason`.
 * Every variant has every field; testing `reason` narrows `error` and `closedWith`:
 *
 * | `reason` | `closedWith` | `error` |
 * | --- | --- | --- |
 * | `'eof'` | `'close'` | `null` |
 * | `'idle-timeout'`, `'max-timeout'`, `'drain-limit'`, `'aborted'` | `'close'` or `'reset'` | `null` |
 * | `'error'` | `'close'` | {@link SystemError} or `null` |
 * | `'overload'` | `'close'` or `'reset'` (input unread) | {@link SystemError} or `null` |
 *
 * @example
 * ```ts
 * enableLingeringClose(server, {
 *   onReport(report) {
 *     if (report.reason === 'error' && report.error) console.log(report.error.code); // 'ECONNRESET'
 *   },
 * });
 * ```
 */
export type LingerReport = LingerEofReport | LingerTimeoutReport | LingerErrorReport | LingerOverloadReport;

/** Options for one lingering close. All times are in milliseconds. */
export interface LingeringCloseOptions {
  /**
   * Give up when nothing moves in either direction (no byte read, none of ours acknowledged) for
   * this long. Default 2000, as Apache httpd.
   */
  idleTimeout?: number | undefined;
  /** Give up after this long in all, whatever the peer does. Default 30000, as Apache and nginx. */
  maxTimeout?: number | undefined;
  /**
   * How to close when a timeout or `maxDrainBytes` ends the linger: `'reset'` (default, as nginx's
   * `reset_timedout_connection`: RST, no TIME_WAIT, nothing more to drain) or `'close'` (a normal
   * close; the kernel still sends RST if input is left unread).
   */
  onTimeout?: 'reset' | 'close' | undefined;
  /** Stop draining (and close as `onTimeout` says) after this many bytes. Default 64 MiB. */
  maxDrainBytes?: number | undefined;
}

/** Options for one {@link lingeringClose} call: the linger's options, and a way to end it early. */
export interface LingeringCloseCallOptions extends LingeringCloseOptions {
  /**
   * Aborting it ends the close at once, in whatever stage it is (flushing, or lingering in native
   * code): the descriptor is closed as a timeout closes it (`onTimeout`: RST by default) and the
   * report says `'aborted'`, unless the peer had finished meanwhile (then `'eof'`, or `'error'`).
   * Already aborted: the close ends at once, without a flush. For shutdowns that cannot wait for
   * `maxTimeout`, and test servers' `close()`.
   */
  signal?: AbortSignal | undefined;
}

/** Options for {@link enableLingeringClose}: the per-connection options, plus the server's bounds. */
export interface EnableLingeringCloseOptions extends LingeringCloseOptions {
  /**
   * At most this many of the server's sockets linger at once; past it a closing socket closes at
   * once (reason `'overload'`, counted). Default 1024. Sockets still lingering from an earlier
   * enable of the same server, undone, count too.
   */
  maxLingering?: number | undefined;
  /**
   * When this many are already lingering, new lingers are short (`shortLingerTimeout` in all, as
   * Apache's event MPM under pressure), counted as `shortened`. Default: 3/4 of `maxLingering`;
   * at most `maxLingering`.
   */
  shortLingerAbove?: number | undefined;
  /** The whole time a short linger may take. Default 2000. */
  shortLingerTimeout?: number | undefined;
  /**
   * Which connections linger. `'always'` (the default, as Apache httpd and nginx's
   * `lingering_close always`): every one. `'as-needed'` (as nginx's default, `lingering_close
   * on`): a connection of an http or https server closes as Node closes it, with no linger, when
   * every request it carried was read whole and answered, nothing waits in Node's buffer and libuv
   * is reading it (judged from Node's objects, as nginx judges, with no syscall); every other
   * connection lingers: a request body not read whole (an early 413, a 401 before an upload), a
   * pipelined request, a parse error or request timeout, a paused socket, a connection with no
   * parser (a plain net or TLS server's, an upgraded one such as a WebSocket's). Counted in
   * `stats().notNeeded`, with no report. A close that began half-closed (the application's own
   * `end()`) lingers as under `'always'`. What it cannot see: docs/lingering.md.
   */
  mode?: 'always' | 'as-needed' | undefined;
  /**
   * For shutdowns with a deadline (nginx's `worker_shutdown_timeout`): aborting it undoes lingering
   * close on the server (as calling the returned function does) and ends every close of its that
   * began, at once, in whatever stage (native linger, half-closed, flush), those begun under an
   * earlier enable of the server that was undone included, closed as a timeout closes them and
   * reported as `'aborted'`. Already aborted: nothing is enabled.
   */
  signal?: AbortSignal | undefined;
  /**
   * Called with each connection's report once its descriptor is closed (reports come in one batch
   * per event-loop iteration). The socket is the one that closed: it is kept in memory until its
   * report, which costs what a destroyed socket weighs for as long as it lingers; without
   * `onReport`, nothing of a lingering connection stays in JavaScript.
   */
  onReport?: ((report: LingerReport, socket: net.Socket) => void) | undefined;
}

/** Counters of lingering closes. Every fallback is counted. */
export interface LingeringCloseStats {
  /** Sockets lingering right now (each holds one descriptor). */
  lingering: number;
  /** The most that lingered at once. */
  peakLingering: number;
  /**
   * Lingering closes finished, by how they ended (`overload`: closed at once, no linger). A close
   * the application resets after it began (`hardReset()`, `resetAndDestroy()` or `setLinger(socket,
   * 0)` on a half-closed or flushing socket) is not a linger's end: it gives its place back, counted
   * in `peakLingering` while it lasted but under no reason, and has no report (a `lingeringClose()`
   * promise rejects with `ERR_SOCKCLOSE_CLOSED`). So the reasons add up to the closes that lingered
   * to an end, not to every close that began.
   */
  reasons: Record<LingerEndReason, number>;
  /** Lingers shortened because `shortLingerAbove` sockets were lingering. */
  shortened: number;
  /**
   * Closes made abortive (RST) by the timeout policy. Not the kernel's RST on a plain close that
   * left input unread: those reports say `closedWith: 'reset'` with `unreadBytes` > 0, uncounted here.
   */
  resets: number;
  /** Bytes drained and discarded in all. */
  drainedBytes: number;
  /**
   * Connections closed as Node closes them, with no linger, because `mode: 'as-needed'` found
   * none needed (not counted under `reasons`, and no report).
   */
  notNeeded: number;
}

/**
 * What {@link enableLingeringClose} returns: call it to undo (new connections close as Node
 * closes them; sockets already lingering finish their linger). `stats()` reads the server's
 * counters.
 */
export interface LingeringCloseControl {
  (): void;
  /** A snapshot of this server's counters (no native call: they are kept in JavaScript). */
  stats(): LingeringCloseStats;
  /**
   * Resolves once none of this server's sockets lingers (at once if none does now). Node's
   * `server.close()` calls back when Node has let go of every socket, which for a lingering one
   * is when the native lingerer takes it over, before its linger ends; await this too for the
   * moment every descriptor is closed.
   *
   * @example
   * ```ts
   * server.close();
   * await control.drained(); // every linger of this server has ended
   * ```
   */
  drained(): Promise<void>;
}
