// Turns what was seen of a connection's end (Node's events, and the kernel's state read at the
// moments that matter) into the verdict observeClose() reports. Pure: no sockets here, so every
// rule can be read, and unit-tested, in one place.
//
// The verdict is about the wire, so it rests on kernel facts wherever there are some, never on
// which event Node chose to emit: libuv up to 1.51 (Node <= 22) reads most RSTs that follow data
// as a clean EOF ('end'), libuv 1.52+ (Node 24, 26) reads the same RSTs as 'error' ECONNRESET
// (which consumes the kernel's pending error), and either may close the socket before reading the
// end at all (http's client does, after a complete response). The facts used:
// - TCP_INFO's bytes received counts a received FIN as one byte (Linux): the peer's FIN arrived
//   exactly when it equals the bytes the transport read plus the bytes still unread, plus one;
// - a pending error (POLLERR, peeked without consuming it), named EPIPE when the FIN came first;
// - the TCP state: only an RST (or a timeout) takes a connection to CLOSE without the peer's FIN;
//   CLOSE after it, with no reset, means both FINs were exchanged;
// - our FIN takes a sequence number: the kernel's acknowledged, unacknowledged and unsent counts
//   exceed what Node handed it by one once shutdown(2) queued it (in CLOSE too, after a reset);
// - an error Node got from a syscall (read, write, connect): libuv read it from the kernel.
import type { TcpStateName } from '../native/layout.js';

/** How one side ended its direction of the connection. */
export type EndKind = 'fin' | 'rst' | 'fin-rst' | 'none';

/** The kernel's view of the socket at one moment, read without changing anything. */
export interface CloseSnapshot {
  /**
   * What this side was doing: `'end'` (Node delivered EOF), `'finish'` (Node handed our FIN to
   * the kernel, or tried to), `'destroy'` (destroy() was called) or `'final'` (right before the
   * descriptor closed, when close steps such as a lingering close kept it open after destroy()).
   */
  at: 'end' | 'finish' | 'destroy' | 'final';
  /** Milliseconds since the observation started. */
  atMs: number;
  /**
   * The socket's address family (inspectSocket's), null where unknown. On `'unix'` the state is
   * poll()'s view (inspectSocket's AF_UNIX states), which shows no FIN of ours.
   */
  family: 'IPv4' | 'IPv6' | 'unix' | null;
  /** TCP state, as `ss` names it; null where unknown. */
  state: TcpStateName | null;
  /** The pending socket error's code (`'ECONNRESET'`, `'EPIPE'`, …), peeked, never consumed. */
  pendingError: string | null;
  /** False where the platform cannot peek a pending error (then `pendingError` is always null). */
  pendingErrorKnown: boolean;
  /** Received bytes nobody has read yet: a close now sends RST. */
  unreadBytes: number | null;
  /** Bytes in the kernel's send queue not yet sent. */
  unsentBytes: number | null;
  /** Bytes sent and not yet acknowledged. */
  unackedBytes: number | null;
  /** Whether closing at this moment sends RST (unread input, or SO_LINGER {1, 0}). */
  closeWouldReset: boolean;
  /** SO_LINGER is {1, 0} (hardReset): the close is a reset whatever else holds. */
  abortive: boolean;
  /** TCP_INFO bytes received (Linux counts a received FIN as one). */
  kernelBytesReceived: number | null;
  /** TCP_INFO bytes acknowledged by the peer (Linux counts the connecting side's SYN as one). */
  kernelBytesAcked: number | null;
  /** Bytes Node had read from the socket at that moment (for TLS: decrypted bytes). */
  nodeBytesRead: number;
  /** Whether the peer's FIN had arrived (inspectSocket's peerFinReceived); null where unknown. */
  peerFinReceived: boolean | null;
  /**
   * Whether our FIN had been handed to the kernel (shutdown(2) queued it): it takes a sequence
   * number, so the kernel's acknowledged, unacknowledged and unsent counts (Linux) add up to one
   * more than the bytes Node handed it (and the connecting side's SYN). Told in CLOSE too, after a
   * reset, where no state shows it. Null where they do not add up either way (another platform,
   * AF_UNIX, a write that failed).
   */
  finQueued: boolean | null;
  /** Set when inspecting failed (the handle was already gone, no native binary, …): its code. */
  inspectError: string | null;
}

/** What Node itself reported. */
export interface NodeView {
  /** The connection was established: 'connect' was emitted, or it already was (accepted sockets). */
  connected: boolean;
  /** Node emitted 'end': it read an EOF (or libuv took an RST for one). */
  sawEnd: boolean;
  /** The error Node emitted or destroyed the socket with, if any. */
  error: { code: string | null; syscall: string | null; message: string } | null;
  /** This side called end() and Node reported it done ('finish'); see `local` for whether a FIN left. */
  finished: boolean;
  /** destroy() was called with no error, by user code or Node (http, auto-destroy). */
  destroyedWithoutError: boolean;
  /** Node's own reset (`resetAndDestroy()`) was used. */
  nodeReset: boolean;
}

/** Moments in milliseconds since the observation started; null when it did not happen. */
export interface Moments {
  end: number | null;
  finish: number | null;
  destroy: number | null;
  error: number | null;
}

/** The verdict. */
export interface Verdict {
  initiator: 'peer' | 'local' | 'unknown';
  peer: EndKind;
  local: EndKind;
  kernelError: string | null;
  hiddenReset: boolean;
  peerEndMs: number | null;
  localEndMs: number | null;
}

// Codes with which a syscall fails because the peer reset the connection (or refused it: the RST
// that answers a SYN). EPIPE from a write: the connection is gone and its error already read.
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ECONNREFUSED']);
// Codes with which a connection fails without any RST on the wire.
const FAILURE_CODES = new Set(['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
// Syscalls whose failure is the kernel's own answer (libuv names them so). Errors without one are
// Node's or user code's interpretation: TLS's "socket disconnected before the handshake"
// (ECONNRESET, after a plain EOF), a destroy(error) with a made-up code.
const KERNEL_SYSCALLS = new Set(['read', 'write', 'writev', 'connect', 'shutdown']);

// States only reached after this side handed its FIN to the kernel.
const OUR_FIN_STATES = new Set<TcpStateName | null>(['FIN_WAIT1', 'FIN_WAIT2', 'CLOSING', 'LAST_ACK', 'TIME_WAIT']);
// Of those, the ones in which the FIN may still wait behind bytes the kernel has not sent (a peer
// that does not read): Linux counts it as one unsent byte until it leaves.
const FIN_QUEUED_STATES = new Set<TcpStateName | null>(['FIN_WAIT1', 'CLOSING', 'LAST_ACK']);
// States only reached after the peer's FIN arrived.
const PEER_FIN_STATES = new Set<TcpStateName | null>(['CLOSE_WAIT', 'LAST_ACK', 'CLOSING', 'TIME_WAIT']);
// States in which closing sends nothing: the connection is gone, or was never made.
const SILENT_CLOSE_STATES = new Set<TcpStateName | null>(['CLOSE', 'SYN_SENT', 'LISTEN', null]);

/**
 * The rules (see the module comment for the facts):
 * - the peer reset if a look found an error pending, or Node got a reset code from a syscall, or
 *   an established connection reached CLOSE without the peer's FIN (the error was read by
 *   someone: Node, a lingering close's drain);
 * - the peer sent FIN if the kernel counted it, or a state only its FIN leads to was seen (where
 *   the kernel counts no FIN: Node's clean EOF with nothing pending, or an EPIPE);
 * - this side sent FIN if a state only our FIN leads to was seen (unless the FIN was still behind
 *   unsent bytes when the close reset: it never left), or a look counted it queued with nothing
 *   unsent (a reset that answers it at once leaves CLOSE at the look at 'finish'), or the
 *   connection closed cleanly after the peer's FIN (CLOSE_WAIT leaves only by our FIN or a
 *   reset); Node's 'finish' alone proves
 *   nothing (its shutdown on a reset connection sends nothing): it counts only where no look can
 *   check it;
 * - this side's close sends RST if it would reset at the last look (unread input, linger 0,
 *   Node's resetAndDestroy()), nothing if the connection was already gone, else FIN.
 */
export function judge(snapshots: readonly CloseSnapshot[], node: NodeView, at: Moments): Verdict {
  const looks = snapshots.filter((s) => s.inspectError === null);
  // The last look before the descriptor closed decides what this side's close sent.
  const lastLook = looks.find((s) => s.at === 'final') ?? looks.find((s) => s.at === 'destroy');
  // Whether the kernel told the peer's FIN wherever a look needed it: a live state tells it by
  // itself (inspectSocket answers from it), CLOSE only by the byte count, which fails (null) for a
  // handle that did not read from the start. A live look's answer alone says nothing of the count.
  const finCounted = looks.some((s) => s.peerFinReceived !== null) && !looks.some((s) => s.state === 'CLOSE' && s.peerFinReceived === null);

  const code = node.error?.code ?? null;
  const fromKernel = code !== null && KERNEL_SYSCALLS.has(node.error?.syscall ?? '');
  const nodeGotReset = fromKernel && RESET_CODES.has(code);
  const pendingLook = looks.find((s) => s.pendingError !== null);
  // An RST whose error someone else read: CLOSE, established, and no FIN counted before it.
  const closedWithoutFin = node.connected && !nodeGotReset && looks.some((s) => s.state === 'CLOSE' && s.peerFinReceived === false);

  // The peer's FIN.
  const finByKernel = looks.some((s) => s.peerFinReceived === true || PEER_FIN_STATES.has(s.state));
  let sawFin = finByKernel;
  if (!finCounted) {
    // No FIN count (another platform, AF_UNIX, no native binary, a count that did not add up in
    // CLOSE): Node's events are the best left. An EOF with no error anywhere is taken for the FIN
    // (with one pending, it may have been a reset libuv read as EOF); an error named EPIPE says a
    // FIN came first.
    sawFin ||= (node.sawEnd && !nodeGotReset && pendingLook === undefined) || pendingLook?.pendingError === 'EPIPE';
  }
  const sawRst = pendingLook !== undefined || nodeGotReset || closedWithoutFin;
  const peer: EndKind = sawRst ? (sawFin ? 'fin-rst' : 'rst') : sawFin ? 'fin' : 'none';

  // The kernel's name for the reset: peeked (the core names it EPIPE when the FIN came first), or
  // what a syscall returned; ECONNRESET for one whose error someone else consumed before any FIN.
  let kernelError = pendingLook?.pendingError ?? (fromKernel && (RESET_CODES.has(code) || FAILURE_CODES.has(code)) ? code : null);
  if (kernelError === null && closedWithoutFin) kernelError = 'ECONNRESET';

  // Node's events alone made the end look clean: an 'end', a reset on the wire, and no error.
  const hiddenReset = sawRst && node.sawEnd && !(code !== null && RESET_CODES.has(code));

  // When this side learned that the peer ended: Node's EOF or error, else the first look that shows it.
  const found = looks.find(
    (s) => s.at !== 'end' && (s.pendingError !== null || s.peerFinReceived === true || PEER_FIN_STATES.has(s.state) || s.state === 'CLOSE'),
  );
  const nodeLearned = min(node.sawEnd ? at.end : null, nodeGotReset ? at.error : null);
  let peerEndMs = peer === 'none' ? null : (min(nodeLearned, found?.atMs ?? null) ?? at.destroy);

  // Our FIN: a state only it leads to, unless it was still behind unsent bytes when the close
  // reset (the reset discards them, and it); or a clean CLOSE after the peer's FIN. Node's word for
  // it ('finish') only where no look can check it.
  const finByState = (looks.some((s) => OUR_FIN_STATES.has(s.state)) && !finDiscarded(looks, lastLook, node)) || looks.some(finLeft);
  const cleanClose = !sawRst && looks.some((s) => s.state === 'CLOSE' && s.peerFinReceived === true);
  const keptWord = node.finished && !finishChecked(looks, at);
  const finSent = finByState || cleanClose || keptWord;
  const local = localEnd(lastLook, node, finSent);
  const localEndMs = local === 'none' ? null : finSent && node.finished ? (at.finish ?? at.destroy) : at.destroy;
  // A peer end first seen by the look at destroy() or at the close came before the close that is
  // our end (the descriptor was still open; the look is only timed a little after destroy()).
  if (peerEndMs !== null && localEndMs !== null && localEndMs === at.destroy && found !== undefined && peerEndMs === found.atMs) {
    if (found.at === 'destroy' || found.at === 'final') peerEndMs = Math.min(peerEndMs, localEndMs);
  }

  let initiator: Verdict['initiator'] = 'unknown';
  if (peerEndMs !== null && (localEndMs === null || peerEndMs <= localEndMs)) initiator = 'peer';
  else if (localEndMs !== null) initiator = 'local';
  return { initiator, peer, local, kernelError, hiddenReset, peerEndMs, localEndMs };
}

/**
 * Whether our FIN, handed to the kernel, never left: at the last look before the close it still
 * waited behind unsent bytes (the kernel counts the FIN as one of them), and the close reset,
 * which discards the send queue. No look ever saw it gone (a state past it, or nothing unsent).
 * A plain close keeps sending it; a close step that kept the descriptor open after the look (a
 * lingering close) may have let it out: its last look (the linger's report) tells, where the
 * lingerer counted what its reset discarded (no state there: unsent bytes after our FIN are it).
 */
function finDiscarded(looks: readonly CloseSnapshot[], lastLook: CloseSnapshot | undefined, node: NodeView): boolean {
  const queued = (s: CloseSnapshot) =>
    (FIN_QUEUED_STATES.has(s.state) || (s.at === 'final' && s.state === null)) && s.unsentBytes !== null && s.unsentBytes > 0;
  if (lastLook === undefined || !queued(lastLook) || !(lastLook.closeWouldReset || node.nodeReset)) return false;
  return !looks.some((s) => (OUR_FIN_STATES.has(s.state) && !queued(s)) || finLeft(s));
}

/**
 * Whether a look counted our FIN sent: queued (it took its sequence number) with nothing unsent,
 * the FIN being the last of what the kernel sends. Whatever state the look found: a peer that
 * answers our FIN with a reset at once has the connection CLOSE before Node's 'finish'.
 */
function finLeft(s: CloseSnapshot): boolean {
  return s.finQueued === true && s.unsentBytes === 0;
}

/**
 * Whether the looks can check Node's 'finish' (so its word is not needed). Node emits 'finish' in
 * the same turn of the loop as its shutdown(2) (libuv runs it a turn after end(), and a destroy()
 * before it cancels it: no 'finish'). So a look at 'finish', or at destroy() or the close when
 * 'finish' came after destroy(), was taken after the shutdown and shows what it did. And a look
 * before 'finish' that found the connection already CLOSE says there was nothing to send a FIN on
 * (an RST had closed it: libuv <= 1.51 read it as 'end', and Node's auto-end shut it down).
 */
function finishChecked(allLooks: readonly CloseSnapshot[], at: Moments): boolean {
  // Only a look that can see our FIN checks anything: one with a TCP state or the kernel's counts.
  // AF_UNIX has neither (its states are poll()'s: 'CLOSE' once the peer closed, whether or not we
  // shut down), nor has a platform without TCP_INFO; there Node's word is all there is.
  const looks = allLooks.filter((s) => s.family !== 'unix' && (s.state !== null || s.finQueued !== null));
  if (looks.some((s) => s.at === 'finish')) return true;
  const finishAt = at.finish;
  if (finishAt === null) return false;
  if (at.destroy !== null && at.destroy <= finishAt && looks.some((s) => s.at === 'destroy' || s.at === 'final')) return true;
  return looks.some((s) => s.atMs <= finishAt && s.state === 'CLOSE');
}

function localEnd(lastLook: CloseSnapshot | undefined, node: NodeView, finSent: boolean): EndKind {
  if (node.nodeReset) return finSent ? 'fin-rst' : 'rst';
  // No look at the kernel before the close: only what Node did is known.
  if (lastLook === undefined) return finSent ? 'fin' : 'none';
  if (lastLook.closeWouldReset) return finSent ? 'fin-rst' : 'rst';
  if (finSent) return 'fin';
  // Gone (reset, or both FINs exchanged) or never made: the close sends nothing. A connection the
  // peer only half-closed still gets our FIN.
  return SILENT_CLOSE_STATES.has(lastLook.state) ? 'none' : 'fin';
}

function min(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}
