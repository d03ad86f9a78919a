// The contract each platform module fulfils: how to read the native probe record into answers.
// Policy lives here (in TypeScript); the native layer only gathers facts.
import type { PlatformName } from './detect.js';

/** A pending error the platform could find without consuming it. */
export type PendingVerdict =
  | { readonly errno: number; readonly syscall: string; readonly inferred: boolean }
  | { readonly errno: 0; readonly syscall: string; readonly unnamed: true };

/** The kinds of socket sockclose works with. */
export type Transport = 'tcp' | 'unix';

/** What peek knows besides the record. */
export interface PeekContext {
  readonly transport: Transport;
  /**
   * Whether the peer's FIN was counted before the error (PlatformBehaviour.peerFinReceived, with
   * the bytes Node's TCP handle has read; false without one): may probe the unread count, which
   * overwrites the record (read everything else first).
   */
  finCounted(): boolean;
}

export interface PlatformBehaviour {
  readonly name: PlatformName;
  /** Probe fields peekSocketError() needs; 0 when it cannot peek (see peekUnsupportedReason). */
  readonly peekFields: number;
  readonly peekUnsupportedReason: string | null;
  /**
   * Whether {@link pendingError} is null whenever poll() reports no error (no `Revents.err`): then
   * a poll alone (the native pollRevents(), one syscall) clears a socket in the common case, and
   * only a socket with POLLERR pays the full probe.
   */
  readonly peekClearedByPoll: boolean;
  /** Reads a record filled with peekFields: the pending error, or null if none. */
  pendingError(record: Float64Array, context: PeekContext): PendingVerdict | null;
  /** The TCP state (probe numbering) from a record filled with `Field.tcp | Field.sockname`; -1 if unknown. */
  tcpState(record: Float64Array, transport: Transport): number;
  /** Probe fields closeWouldReset() needs. */
  readonly closeWouldResetFields: number;
  /** Reads a record filled with closeWouldResetFields. */
  closeWouldReset(record: Float64Array, transport: Transport): boolean;
  /**
   * closeWouldReset() of a TCP socket from the native resetHints() (ResetHint bits, the TCP state
   * from bit 8 when a hint is set), or null when that is not enough (then the full probe
   * decides). Every platform's rule is false without an abortive linger or unread bytes: the common
   * case costs two syscalls and no record. Must agree with closeWouldReset() (held to it on real
   * sockets by test/core/probe-screens.test.ts). Asked of a Node TCP socket's descriptor only, never
   * of a listener (see listeningCloseWouldReset).
   */
  closeWouldResetByHints(hints: number): boolean | null;
  /**
   * closeWouldReset() of a listening socket (a descriptor: only a descriptor can be one; the
   * `listening` slot says so) from its poll() events (Revents bits, -1 if unknown): whether its
   * close fails the connections waiting in its accept queue (handshake done, not yet accepted).
   * Every kernel here reports a listener readable exactly while that queue holds one (it is how
   * select() and poll() wait for a connection to accept): one syscall, asked only of a listener.
   * What the close then does to those connections is the platform's rule.
   */
  listeningCloseWouldReset(revents: number, transport: Transport): boolean;
  /**
   * Whether the peer's FIN has arrived, from a record with `Field.tcp | Field.unread`: from the TCP
   * state where it tells, and in CLOSE (a FIN and an RST both end there) from the bytes Node's TCP
   * handle has read, where the kernel counts a FIN as one received byte (received = read + unread
   * + 1 exactly when it did). `handleBytesRead` is called only when needed (null without a Node
   * handle). Null when this cannot be told.
   */
  peerFinReceived(record: Float64Array, handleBytesRead: () => number | null): boolean | null;
  /**
   * Whether a read failing with ECONNRESET after our own shutdown(SHUT_WR) is just the peer's end
   * of the conversation (IBM i, libuv issue 3494), rather than a reset to report.
   */
  readonly resetAfterShutdownIsEnd: boolean;
  /**
   * Whether the send queue a probe reads (`Field.queues`) counts our FIN until the peer
   * acknowledges it: Linux's SIOCOUTQ is write_seq - snd_una, and the FIN takes a sequence number.
   * After our FIN the bytes of ours not yet acknowledged are then one fewer, and the FIN's
   * acknowledgement (a delayed ACK, tens of milliseconds later) is not the peer making progress.
   */
  readonly sendQueueCountsFin: boolean;
  /**
   * By transport: whether a plain close() with input unread resets the connection. TCP: RST
   * (Linux; AIX, assumed as closeWouldReset() assumes it); AF_UNIX: the peer's next read fails
   * with ECONNRESET (Linux). The BSDs and macOS discard the input and send FIN. A linger a bound
   * ends reports its unread input as a reset only where this holds, as closeWouldReset() would.
   */
  readonly unreadInputResets: Readonly<Record<Transport, boolean>>;
  /**
   * Whether an abortive close (SO_LINGER {1, 0}) of a TCP connection in `state` (probe numbering,
   * -1 unknown) with `unsent` bytes of ours not yet sent (our FIN counted as one; -1 unknown) and
   * no input unread sends no RST: the kernel drops the connection without a word. Linux does so in
   * LAST_ACK and CLOSING with nothing unsent (tcp_disconnect()); the BSDs' tcp_drop() resets every
   * synchronized connection. A linger's report says `closedWith: 'close'` then. False when unknown.
   */
  abortiveCloseSendsNoReset(state: number, unsent: number): boolean;
  /**
   * The longest SO_LINGER time, in seconds, the kernel stores without wrapping: macOS keeps it in
   * clock ticks in 16 bits (327 s), the other BSDs in a 16-bit field. setLinger() refuses more
   * where the kernel would be given it.
   */
  readonly maxLingerSeconds: number;
}
