// The public types of the close audit.
import type { LingerEndReason } from '../lingering/types.js';
import type { TcpStateName } from '../native/layout.js';

/**
 * How this side's close ended the connection, as the kernel saw it right before the descriptor
 * closed:
 * - `'fin'`: a normal close (our FIN was sent, or goes now).
 * - `'rst'`: the close sent RST: input was left unread (`cause: 'unread'`) or SO_LINGER {1, 0} was
 *   set (`cause: 'abortive'`: hardReset(), or a lingering close's timeout policy). On AF_UNIX,
 *   which has no RST, unread input makes the peer's next read fail with ECONNRESET: counted here too.
 * - `'none'`: the connection was over before this close, not cleanly: the peer had reset it (where
 *   the platform cannot count the peer's FIN, a connection both sides had finished counts here too).
 * - `'unknown'`: the kernel could not be asked (no native binary, a platform that cannot tell).
 */
export type AuditedEnd = 'fin' | 'rst' | 'none' | 'unknown';

/** The http request last on a connection (http and https servers). */
export interface AuditedRequest {
  /** The request method. */
  method: string;
  /** The request path, without its query string (at most 200 characters). */
  path: string;
  /**
   * The status of the response head that went out, or null if none did: writeHead() alone sends
   * nothing, and a pipelined response waits in Node until the ones before it are done.
   */
  status: number | null;
}

/**
 * The fields of every {@link AuditedClose}, with their widest types. Each variant of the union
 * narrows some of them by its `end`: test `end` to know which.
 */
export interface AuditedCloseFields {
  /**
   * When the descriptor closed, in epoch milliseconds. For a connection a lingering close took
   * over (and closed later), when its linger ended: the close is published then.
   */
  at: number;
  /** How it ended. */
  end: AuditedEnd;
  /** For `'rst'`: why (`'unread'`: input left unread; `'abortive'`: SO_LINGER {1, 0}); else null. */
  cause: 'unread' | 'abortive' | null;
  /** The TCP state right before the close (null: unknown, or AF_UNIX). */
  state: TcpStateName | null;
  /** Request bytes received and never read (null: unknown). */
  unreadBytes: number | null;
  /**
   * For `'rst'`: response bytes the kernel still held and had never transmitted: the RST discards
   * them, so the client certainly never gets them (null: unknown, where the kernel gives no split
   * of its send queue, or not an RST: a FIN close delivers them).
   */
  unsentBytes: number | null;
  /**
   * For `'rst'`: response bytes at risk: transmitted but not yet acknowledged by the client's
   * kernel. The client may or may not have them (its acknowledgement may be in flight or delayed,
   * and it can read what its kernel queued before it sees the reset), so they are not counted in
   * `unreceivedBytes`. Where the kernel gives only its whole send queue (the BSDs, macOS), that
   * figure is here and `unsentBytes` is null: part of it may never have been sent. Null: unknown,
   * or not an RST.
   */
  unackedBytes: number | null;
  /** Bytes Node still held for writing (its stream buffer and libuv's queue): a close discards them. */
  queuedBytes: number;
  /**
   * Bytes the client certainly never received: unsent + queued (never handed to the network), when
   * known; unacknowledged bytes (`unackedBytes`) are at risk, not certain, and not counted. With an
   * RST the client also loses whatever of `unackedBytes` had not reached it, and what its kernel
   * received but its application had not read yet, which this side cannot see: this is a lower
   * bound of what it lost.
   */
  unreceivedBytes: number;
  /** Bytes this side read (Node's bytesRead). */
  bytesRead: number;
  /** Bytes this side wrote (Node's bytesWritten). */
  bytesWritten: number;
  /** The peer's address and port, for RST closes that lost data (null otherwise, or unknown). */
  remote: string | null;
  /** The lingering close that handled the close, or null if none did. */
  lingered: { reason: LingerEndReason; drainedBytes: number; closedWith: 'close' | 'reset' } | null;
  /** For http and https servers: the request last on the connection, or null. */
  request: AuditedRequest | null;
}

/**
 * An {@link AuditedClose} that sent RST: the only end with a `cause`, and the only one whose
 * queued bytes the close loses (`unsentBytes`, `unackedBytes`) or whose peer is named (`remote`).
 */
export interface AuditedRstClose extends AuditedCloseFields {
  /** `'rst'`: the close sent RST. */
  end: 'rst';
  /** Why: `'unread'` (input left unread) or `'abortive'` (SO_LINGER {1, 0}). */
  cause: 'unread' | 'abortive';
  /** Response bytes the kernel still held and had never transmitted (null: unknown). */
  unsentBytes: number | null;
  /** Response bytes transmitted and not yet acknowledged (null: unknown). */
  unackedBytes: number | null;
  /** The peer's address and port when the RST lost data (`cause: 'unread'`, bytes written); else null. */
  remote: string | null;
}

/**
 * An {@link AuditedClose} that sent no RST, as the kernel told: a normal close (`'fin'`), or one of
 * a connection already over (`'none'`). No cause, nothing lost to a reset, no peer named.
 */
export interface AuditedNoRstClose extends AuditedCloseFields {
  /** `'fin'` (a normal close) or `'none'` (the connection was over before it, not cleanly). */
  end: 'fin' | 'none';
  /** Always null: only an RST has a cause. */
  cause: null;
  /** Always null: not an RST (a FIN close delivers what is queued). */
  unsentBytes: null;
  /** Always null: not an RST. */
  unackedBytes: null;
  /** Always null: only RST closes that lost data name their peer. */
  remote: null;
}

/**
 * An {@link AuditedClose} the kernel could not be asked about (no native binary, a platform that
 * cannot tell, no descriptor left): everything the kernel would have said is null.
 */
export interface AuditedUnknownClose extends AuditedCloseFields {
  /** `'unknown'`: the kernel could not be asked. */
  end: 'unknown';
  /** Always null. */
  cause: null;
  /** Always null: unknown. */
  state: null;
  /** Always null: unknown. */
  unreadBytes: null;
  /** Always null: unknown. */
  unsentBytes: null;
  /** Always null: unknown. */
  unackedBytes: null;
  /** Always null. */
  remote: null;
}

/**
 * How one connection ended (see {@link auditCloses}): one of its variants, told apart by `end`.
 * Every variant has every field; testing `end` narrows `cause`, the RST's byte counts and `remote`:
 *
 * | `end` | `cause` | `unsentBytes`, `unackedBytes` | `remote` |
 * | --- | --- | --- | --- |
 * | `'rst'` | `'unread'` or `'abortive'` | number or `null` | string or `null` |
 * | `'fin'`, `'none'` | `null` | `null` | `null` |
 * | `'unknown'` | `null` | `null` | `null` (and `state`, `unreadBytes`: `null`) |
 */
export type AuditedClose = AuditedRstClose | AuditedNoRstClose | AuditedUnknownClose;

/** The counters of a close audit. */
export interface CloseAuditCounts {
  /**
   * Connections whose close was recorded. A connection a lingering close took over counts once
   * its linger has ended (as the linger ended it), not while it lingers.
   */
  closed: number;
  /** Closes by how they ended. */
  ends: Record<AuditedEnd, number>;
  /** RST closes caused by unread input (the ones lingering close prevents). */
  unreadResets: number;
  /** RST closes asked for (SO_LINGER {1, 0}: hardReset(), a lingering close's timeout policy). */
  abortiveResets: number;
  /**
   * RST closes caused by unread input on connections that had sent response bytes: the client may
   * have lost some (certainly so when `unreceivedBytes` > 0). The ring keeps the latest of these.
   */
  resetsWithData: number;
  /**
   * Over `resetsWithData`: bytes the client certainly never received (never transmitted: unsent
   * in the kernel or still queued in Node), a lower bound of what it lost.
   */
  unreceivedBytes: number;
  /**
   * Over `resetsWithData`: bytes at risk, transmitted but not acknowledged (`unackedBytes`): the
   * client may or may not have received them. Not part of `unreceivedBytes`.
   */
  unackedBytes: number;
  /** Over the unread-input resets: request bytes left unread. */
  unreadBytes: number;
  /** Closes a lingering close handled (it lingered; `'overload'` closes not counted). */
  lingered: number;
  /** Closes a lingering close refused for overload (closed at once). */
  lingerOverload: number;
  /**
   * Over `unreadResets`: closes a lingering close handled that still ended with an RST on input
   * unread: a bound ended the linger while the client was still sending (the drain limit,
   * typically), and the RST, the timeout policy's or the kernel's answer to a plain close, may
   * cost the client our response. Closes it turned away are `lingerOverload`.
   */
  lingerUnreadResets: number;
  /**
   * `lingerUnreadResets` by the bound that ended each linger (its report's `reason`): which bound
   * to raise, if such clients are legitimate. `aborted`: the close's or the server's signal.
   */
  lingerUnreadResetReasons: LingerUnreadResetReasons;
  /** Closes that discarded bytes Node still held for writing (a destroy() before the write finished). */
  discardedWrites: number;
  /** Over `discardedWrites`: the bytes Node still held, never sent, whichever way the close ended. */
  discardedBytes: number;
}

/** {@link CloseAuditCounts.lingerUnreadResetReasons}: lingers a bound ended with input unread, by bound. */
export interface LingerUnreadResetReasons {
  'drain-limit': number;
  'max-timeout': number;
  'idle-timeout': number;
  aborted: number;
}

/** Options for {@link auditCloses}. */
export interface AuditClosesOptions {
  /** How many recent RST-with-data closes to keep (default 100, 0 to keep none, at most 100,000). */
  recent?: number | undefined;
}

/** What {@link auditCloses} returns: the audit's readings, and a way to stop it. */
export interface CloseAudit {
  /** A snapshot of the counters. */
  counts(): CloseAuditCounts;
  /** The latest RST-with-data closes, oldest first (at most `recent`). */
  recent(): AuditedClose[];
  /** One sentence saying what the numbers mean. */
  summary(): string;
  /** Stops recording this server's closes (of connections already open too). */
  stop(): void;
}
