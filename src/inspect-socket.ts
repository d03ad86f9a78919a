import net from 'node:net';

import { isInstance, systemError, unsupported, verdictError, type Caller, type PendingSocketError } from './errors.js';
import { emulatedLinger, emulatedLingerSetting, nativeLingerSetting } from './linger.js';
import { Family, Field, Revents, Slot, SLOT_NAMES, State, TCP_STATES, type TcpStateName } from './native/layout.js';
import type { PendingVerdict, PlatformBehaviour, Transport } from './platform/behaviour.js';
import { platform } from './platform/index.js';
import { queuedWriteBytes, transportBytesRead, transportKind } from './node-handle.js';
import { binding, record, type Binding } from './native/binding.js';
import { recordHandedOut } from './socket-fd.js';
import {
  liveTcpFd,
  notASocket,
  probe,
  probeResolved,
  requireNative,
  resolve,
  resolveHandle,
  resolveListeningServer,
  socketKind,
  type NodeHandle,
  type Resolved,
  type SocketInternals,
  type SocketTarget,
} from './target.js';

import type { LingerSetting } from './linger.js';

/** TCP counters the platform reports; each is `null` where it does not. */
export interface TcpCounters {
  /** Smoothed round-trip time, in microseconds. */
  rttMicros: number | null;
  /** Retransmissions of the segment now in flight. */
  retransmits: number | null;
  /** Retransmissions over the connection's life. */
  totalRetransmits: number | null;
  /** Bytes the peer acknowledged (Linux counts the SYN as one). */
  bytesAcked: number | null;
  /** Bytes received (Linux counts a received FIN as one). */
  bytesReceived: number | null;
  /** Bytes sent, retransmissions included. */
  bytesSent: number | null;
  /** Segments received over the connection's life, ACK-only segments included. */
  segmentsIn: number | null;
  /** Segments sent over the connection's life, ACK-only segments and retransmissions included. */
  segmentsOut: number | null;
}

/** A snapshot of a socket's close-relevant state. Fields are `null` where the platform cannot tell. */
export interface SocketInspection {
  /** The OS descriptor inspected, as read from the socket's handle at this call (or the number given). */
  fd: number;
  /** The socket's address family; null where the kernel would not say (AIX, once the peer reset it). */
  family: 'IPv4' | 'IPv6' | 'unix' | null;
  /**
   * TCP state, as `ss` names them. AF_UNIX sockets have no TCP state; for them sockclose reports
   * 'LISTEN', 'ESTABLISHED', 'CLOSE_WAIT' (the peer shut its side) or 'CLOSE' (both sides shut).
   */
  state: TcpStateName | null;
  /**
   * Bytes received and not yet read by anyone: a close now would reset the connection. On Linux,
   * with urgent data pending (a byte the peer sent with MSG_OOB, which recv() skips and Node never
   * reads), the kernel counts only the bytes before the urgent mark: 0 when the urgent byte is next,
   * though a close still resets. Not looked for (one syscall more on every call, for a case only
   * legacy protocols and hostile peers make); see {@link closeWouldReset}.
   */
  unreadBytes: number | null;
  /**
   * Bytes queued in the kernel, not yet sent. On Linux, after our FIN, the FIN counts as one
   * until it is sent (it takes a sequence number); here and in the next two fields.
   */
  unsentBytes: number | null;
  /** Bytes sent, not yet acknowledged by the peer (Linux: our FIN counts as one until acknowledged). */
  unackedBytes: number | null;
  /** Unsent + unacknowledged (known on macOS/FreeBSD where the split is not). */
  sendQueueBytes: number | null;
  /**
   * Bytes Node's handle holds, not yet given to the kernel: libuv's queue; on a TLS socket, the
   * TLS layer's encrypted output, which includes it (after `'finish'` libuv's only: see
   * docs/lingering.md on the close_notify Node may never write). On TLS that is an upper bound:
   * the TLS layer counts a write in progress whole until it completes, the part the kernel already
   * took included (up to the kernel's send buffer, megabytes: 8 MiB written to a peer that does not
   * read counted 8.4 MB while the kernel held 4.1 MB of it). The stream's own buffer
   * (`socket.writableLength`) is not counted. Null for a descriptor number.
   */
  nodeQueuedBytes: number | null;
  /**
   * Whether the peer's FIN has arrived, even when Node has not read it yet (or took an RST for
   * it). Known on Linux: from the TCP state (a descriptor number's too; null for a listening one,
   * which has no peer), and once the connection is CLOSE, which a FIN and an RST both end in, for
   * Node TCP sockets (TLS included) by counting bytes (null there for a descriptor number). Null
   * elsewhere.
   */
  peerFinReceived: boolean | null;
  /** The pending error, read without consuming it (see peekSocketError). */
  pendingError: PendingSocketError | null;
  /** False where the platform cannot peek a pending error (then `pendingError` is null). */
  pendingErrorKnown: boolean;
  /** SO_LINGER, or the emulated linger, as `getLinger()` reports it (frozen; off and {1, 0} are shared objects). */
  linger: LingerSetting | null;
  /**
   * Whether closing now would send RST (see closeWouldReset): for a listening descriptor, to the
   * connections waiting in its accept queue.
   */
  closeWouldReset: boolean;
  /** TCP_INFO counters; null for AF_UNIX sockets and where TCP_INFO could not be read. */
  tcp: TcpCounters | null;
}

// Slot indices as module constants, and orNull() instead of layout's known(): reading them through
// the layout module's objects cost ~55 instructions per field in inspectSocket() (callgrind).
const {
  family: FAMILY,
  listening: LISTENING,
  revents: REVENTS,
  state: STATE,
  unread: UNREAD,
  unsent: UNSENT,
  unacked: UNACKED,
  sendQueue: SEND_QUEUE,
  lingerEnabled: LINGER_ENABLED,
  lingerSeconds: LINGER_SECONDS,
  rttMicros: RTT,
  retransmits: RETRANSMITS,
  totalRetransmits: TOTAL_RETRANSMITS,
  bytesAcked: BYTES_ACKED,
  bytesReceived: BYTES_RECEIVED,
  bytesSent: BYTES_SENT,
  segsIn: SEGS_IN,
  segsOut: SEGS_OUT,
} = Slot;

/** A record value, with the native layer's -1 ("cannot tell") as null (layout's known()). */
function orNull(value: number): number | null {
  return value < 0 ? null : value;
}

const ALL = Field.describe | Field.poll | Field.tcp | Field.unread | Field.queues | Field.linger | Field.sockname;
// A Node socket is known to be a stream socket and not listening, from its handle; its family comes
// with getsockname(), which the probe makes anyway. Three syscalls fewer than a raw descriptor.
const SOCKET_FIELDS = ALL & ~Field.describe;

// A socket's family is fixed when it is created: once a probe of a live TCP handle has read it,
// the handle keeps it (keyed by handle identity, as target.ts keeps its descriptor), and later
// inspections leave getsockname() out, one syscall of seven. Not where the platform's peek reads
// the error state from getsockname() (AIX): there it runs at every call, and a family it can no
// longer tell (a reset socket) must stay unknown, so nothing is kept.
const kFamily = Symbol('sockclose.family');
type FamilyCaching = NodeHandle & { [kFamily]?: number };
let keepsFamily: boolean | undefined;

/** The fast path's probe: every field, or all but getsockname() once the handle knows its family. */
function probeLive(fd: number, handle: FamilyCaching): Float64Array {
  keepsFamily ??= (platform().peekFields & Field.sockname) === 0;
  const family = keepsFamily ? handle[kFamily] : undefined;
  if (family !== undefined) {
    const filled = probe(fd, SOCKET_FIELDS & ~Field.sockname, inspectSocket);
    filled[FAMILY] = family;
    return filled;
  }
  const filled = probe(fd, SOCKET_FIELDS, inspectSocket);
  const read = filled[FAMILY]!;
  if (keepsFamily && (read === Family.inet || read === Family.inet6)) handle[kFamily] = read;
  return filled;
}

/**
 * Everything sockclose can learn about a socket's state without changing it: TCP state, the three
 * queues, the pending error (peeked, never consumed), linger, and TCP counters.
 *
 * @param target - A `net.Socket` / `tls.TLSSocket` (TCP or AF_UNIX), or a descriptor number.
 * @returns A {@link SocketInspection}.
 * @throws `ERR_SOCKCLOSE_UNSUPPORTED` without the native binary or on Windows;
 *   `ERR_INVALID_ARG_TYPE` for a target that is neither a socket nor a number; `ERR_OUT_OF_RANGE`
 *   for a number that is not a descriptor (an integer 0 to 2^31 - 1); `ERR_SOCKCLOSE_CLOSED` once
 *   the socket is destroyed; `ERR_SOCKCLOSE_NO_FD` while it has none (see socketFd);
 *   `ERR_SOCKCLOSE_NOT_TCP` for a UDP socket; a system error (`syscall`, `errno`) for a number that
 *   is not an open socket (ENOTSOCK, EBADF).
 * @example
 * ```ts
 * const { state, unreadBytes, unackedBytes } = inspectSocket(socket);
 * ```
 */
export function inspectSocket(target: SocketTarget): SocketInspection {
  const fd = liveTcpFd(target);
  if (fd >= 0 && binding() !== null) {
    // The fast path: a live TCP socket, probed at once.
    const handle = (target as SocketInternals)._handle!;
    const record = probeLive(fd, handle);
    // The number goes out in the result: hardReset(fd) must refuse it while the socket lives.
    recordHandedOut(target as SocketInternals, handle, fd);
    const queued = handle.writeQueueSize ?? null;
    // A plain TCP handle (liveTcpFd said so) carries its own bytes: no handle-kind lookups.
    return inspection(record, fd, 'tcp', handle, queued, true, inspectSocket);
  }
  const resolved = resolve(target, inspectSocket, 'stream', ALL);
  if (resolved.kind === 'socket') recordHandedOut(resolved.socket, resolved.handle, resolved.fd);
  return inspectResolved(resolved, inspectSocket);
}

/**
 * inspectSocket() for the handle a close step or watcher holds (src/close-hook.ts): the socket is
 * `destroyed` by then, but its handle, and so its descriptor, is still open. Internal.
 */
export function inspectHandle(socket: SocketInternals, handle: NodeHandle): SocketInspection {
  return inspectResolved(resolveHandle(socket, handle, inspectHandle), inspectHandle);
}

function inspectResolved(resolved: Resolved, caller: Caller): SocketInspection {
  const record = probeResolved(resolved, resolved.kind === 'fd' ? ALL : SOCKET_FIELDS, caller);
  if (resolved.kind !== 'socket') return inspection(record, resolved.fd, resolved.transport, null, null, false, caller);
  const { socket, handle } = resolved;
  // TLS: read as the lingering close reads its queues (queuedWriteBytes()).
  const queued = handle.writeQueueSize === undefined ? null : queuedWriteBytes(socket, handle);
  return inspection(record, resolved.fd, resolved.transport, handle, queued, false, caller);
}

// What the handle of the inspection in progress has read, asked for only by the rule that needs it
// (the peer's FIN in CLOSE, which also names a pending error): a native accessor most inspections skip.
// Set for one synchronous inspection, then cleared, so that no socket is kept alive.
let bytesHandle: NodeHandle | null = null;
let bytesDirect = false; // a plain TCP handle (the fast path): its own accessor, no kind lookup
let bytesRead: number | null | undefined;
function handleBytesRead(): number | null {
  if (bytesRead === undefined) {
    if (bytesHandle === null) bytesRead = null;
    else if (bytesDirect) {
      const read = bytesHandle.bytesRead;
      bytesRead = typeof read === 'number' ? read : null;
    } else bytesRead = transportBytesRead(bytesHandle);
  }
  return bytesRead;
}

// The peek context inspection() hands the platform: reused, its answers set before each verdict.
let contextFin = false;
const peekContext: { transport: Transport; finCounted(): boolean } = {
  transport: 'tcp',
  finCounted: () => contextFin,
};

/**
 * The inspection of a probed record; `handle` is the Node socket's (null for a raw descriptor),
 * `nodeQueued` what Node holds unwritten, `direct` whether `handle` is a plain TCP handle (else
 * its transport's bytes are read).
 */
function inspection(
  record: Float64Array,
  fd: number,
  transport: Transport,
  handle: NodeHandle | null,
  nodeQueued: number | null,
  direct: boolean,
  caller: Caller,
): SocketInspection {
  const rules = platform();
  const lingerEnabled = record[LINGER_ENABLED]!;
  // As getLinger(): {1, 0} on the descriptor overrides an emulated linger (the close resets).
  const abortive = lingerEnabled === 1 && record[LINGER_SECONDS] === 0;
  const emulated = handle !== null && !abortive ? emulatedLinger(handle) : undefined;

  // The rule that may ask what the handle has read, and the one that uses its answer; neither throws.
  bytesHandle = handle;
  bytesDirect = direct;
  bytesRead = undefined;
  const peerFinReceived = transport === 'tcp' ? rules.peerFinReceived(record, handleBytesRead) : null;
  const pendingErrorKnown = rules.peekFields !== 0;
  let verdict: PendingVerdict | null = null;
  if (pendingErrorKnown) {
    peekContext.transport = transport;
    contextFin = peerFinReceived === true;
    verdict = rules.pendingError(record, peekContext);
  }
  bytesHandle = null;

  const inspection = result(
    fd,
    familyName(record[FAMILY]!),
    stateName(record, transport, rules.tcpState(record, transport)),
    record,
    nodeQueued,
    peerFinReceived,
    pendingErrorKnown,
    emulated !== undefined
      ? emulatedLingerSetting(emulated)
      : lingerEnabled < 0
        ? null
        : nativeLingerSetting(lingerEnabled === 1, record[LINGER_SECONDS]!),
    rules.closeWouldResetFields !== 0 &&
      // A listening descriptor (`listening` is read for descriptors only) by its accept queue.
      (record[LISTENING] === 1 ? rules.listeningCloseWouldReset(record[REVENTS]!, transport) : rules.closeWouldReset(record, transport)),
    transport === 'tcp' ? tcpCounters(record) : null,
  );
  if (verdict !== null) inspection.pendingError = verdictError(verdict, caller);
  return inspection;
}

/**
 * TCP, the state read CLOSE with the peer's FIN counted: whether a reset ended the connection
 * after that FIN (a write of ours to a peer that had closed: Node's 400 after a failed parse, to a
 * client gone mid-upload; a peer that half-closed, then closed abortively), which the byte count
 * calls a clean end. A connection both sides finished reaches CLOSE only once our bytes and FIN
 * are acknowledged, and with no error. A reset (or a retransmission timeout) leaves what was
 * outstanding counted in the send queue for good, and its error (EPIPE) pending until something
 * takes it: Node's next write does, so neither sign alone is enough (with nothing of ours
 * outstanding, the send queue is empty). Two ioctls and a poll(); overwrites the probe record.
 * Internal.
 */
export function resetAfterPeerFin(fd: number): boolean {
  const native = binding();
  if (native === null || !(fd >= 0) || native.probe(fd, Field.queues | Field.poll) < 0) return false;
  const revents = record[Slot.revents]!;
  return record[Slot.sendQueue]! > 0 || (revents >= 0 && (revents & Revents.err) !== 0);
}

/**
 * How the peer ended the TCP connection, as the kernel says: `'fin'`, its FIN arrived (a state
 * only that FIN leads to, or CLOSE with the FIN counted: a socket our FIN had left in FIN_WAIT2
 * goes to CLOSE at the peer's, as the connection moves on to TIME_WAIT); `'reset'`, CLOSE without
 * it; `'fin-reset'`, CLOSE after its FIN and then a reset (see resetAfterPeerFin()); null while it
 * has not ended, or where the kernel cannot tell.
 */
export function kernelPeerEnd(handle: NodeHandle): 'fin' | 'reset' | 'fin-reset' | null {
  const native = binding();
  if (native === null || transportKind(handle) !== 'tcp' || !(handle.fd >= 0)) return null;
  if (native.probe(handle.fd, Field.tcp | Field.unread) < 0) return null;
  const rules = platform();
  const state = rules.tcpState(record, 'tcp');
  if (state === State.CLOSE) {
    const fin = rules.peerFinReceived(record, () => transportBytesRead(handle));
    if (fin === null) return null;
    if (!fin) return 'reset';
    return resetAfterPeerFin(handle.fd) ? 'fin-reset' : 'fin';
  }
  return state === State.TIME_WAIT || state === State.CLOSING || state === State.LAST_ACK || state === State.CLOSE_WAIT ? 'fin' : null;
}

/**
 * Whether closing this socket now would send RST to the peer: on Linux, unread input or an
 * abortive linger ({1, 0}) on a connection that still exists. That includes a connection whose
 * FINs were both sent while ours is not yet acknowledged (LAST_ACK, CLOSING: a half-closed socket
 * whose peer has not read all of our bytes), where the reset destroys what the peer has not
 * received; there an abortive linger resets only while bytes are still unsent. (AF_UNIX has no
 * RST, but closing with unread input makes the peer's next read fail with ECONNRESET: that counts
 * too.) Not seen: urgent data (MSG_OOB) the peer sent and nothing read, when the urgent byte is
 * the next one (Linux counts unread bytes only up to the urgent mark): it says false, and a close
 * resets. A lingering close reads past it.
 *
 * A listening descriptor (one inherited, or the one given to `server.listen({ fd })`): true while
 * connections wait in its accept queue (handshake done, not yet accepted), which its close fails:
 * Linux sends each RST (on AF_UNIX, each client's next read fails with ECONNRESET); false while
 * the queue is empty. Read with one poll() more (a listener is readable exactly while a connection
 * waits). On macOS and the BSDs, TCP only (an AF_UNIX client reads EOF there); on AIX, assumed for
 * both. A queued connection its client has already reset still counts, though nothing is sent to
 * it.
 *
 * A listening `net.Server` (a `tls.Server`, `http.Server` or `https.Server` too): the verdict for
 * its listening descriptor, read from its handle at the call, as above (TCP, or AF_UNIX for a
 * server on a path): true while connections wait in its accept queue, which `server.close()`
 * fails. A connection the server has accepted is no longer in the queue: ask about its socket.
 * Node accepts everything queued each time its loop polls, so on the server's own thread this is
 * true only for connections completed since (a busy loop, synchronous work): exactly the ones a
 * `server.close()` made now would fail. A server that is not listening (never, not yet, or
 * closed) has no listening descriptor, and a cluster worker's server (unless it listened with
 * `exclusive: true`) none of its own: the primary holds the listener, and the worker's `close()`
 * does not close it (in round-robin mode the worker has no descriptor at all; with `SCHED_NONE` it
 * holds a copy, and closes only that); the primary closes it once no worker's server uses it,
 * which the worker cannot see. Both throw rather than answer false.
 *
 * @param target - A `net.Socket` / `tls.TLSSocket` (TCP or AF_UNIX), a descriptor number (a
 *   listening one included), or a listening `net.Server` (tls, http, https servers included).
 * @returns True if a close now would send RST (or, on AF_UNIX, fail the peer's next read); for a
 *   listener or a server, to the connections waiting in its accept queue.
 * @throws `ERR_SOCKCLOSE_UNSUPPORTED` where the platform cannot tell, without the native binary, or
 *   on Windows;
 *   `ERR_INVALID_ARG_TYPE` for a target that is neither a socket, a server nor a number;
 *   `ERR_OUT_OF_RANGE` for a number that is not a descriptor (an integer 0 to 2^31 - 1);
 *   `ERR_SOCKCLOSE_CLOSED` once the socket is destroyed; `ERR_SOCKCLOSE_NO_FD` while it has none
 *   (see socketFd), and for a server that is not listening (never listened, or closed) or is a
 *   cluster worker's (the primary holds its listener); `ERR_SOCKCLOSE_NOT_TCP` for a UDP socket; a
 *   system error (`syscall`, `errno`) for a number that is not an open socket.
 * @example
 * ```ts
 * if (closeWouldReset(socket)) await lingeringClose(socket); else socket.destroy();
 * if (closeWouldReset(server)) console.warn('server.close() will reset the connections it has not accepted yet');
 * ```
 */
export function closeWouldReset(target: SocketTarget | net.Server): boolean {
  const rules = platform();
  const fd = liveTcpFd(target);
  const native = fd >= 0 && rules.closeWouldResetFields !== 0 ? binding() : null;
  if (native !== null) {
    // The fast path: the platform decides from resetHints() (two syscalls, a third with a hint;
    // no record) where it can; otherwise, or if they failed, the full probe and its exact errors.
    return tcpCloseWouldReset(fd, native, rules, closeWouldReset);
  }
  if (typeof target !== 'number' && socketKind(target) === 'other') {
    // A server: its listening descriptor, as a listening descriptor number is answered below.
    if (!isInstance(target, net.Server)) throw notASocket(target, 'target', CLOSE_WOULD_RESET_TYPES, closeWouldReset);
    const listener = resolveListeningServer(target, closeWouldReset);
    if (rules.closeWouldResetFields === 0) throw unsupported(rules.peekUnsupportedReason!, closeWouldReset);
    return rules.listeningCloseWouldReset(pollListener(listener.fd, closeWouldReset), listener.transport);
  }
  const resolved = resolve(target, closeWouldReset, 'stream', rules.closeWouldResetFields);
  if (rules.closeWouldResetFields === 0) throw unsupported(rules.peekUnsupportedReason!, closeWouldReset);
  if (resolved.kind === 'fd' && resolved.listening) {
    // A listener: its close fails the connections in its accept queue, which poll() reports (one
    // syscall more, for a listener only).
    return rules.listeningCloseWouldReset(pollListener(resolved.fd, closeWouldReset), resolved.transport);
  }
  return rules.closeWouldReset(probeResolved(resolved, rules.closeWouldResetFields, closeWouldReset), resolved.transport);
}

const CLOSE_WOULD_RESET_TYPES = 'an instance of net.Socket or net.Server, or of type number';

/** poll() events of a listening descriptor (Revents bits), or the system error, as `caller`'s. */
function pollListener(fd: number, caller: Caller): number {
  const revents = requireNative(caller).pollRevents(fd);
  if (revents < 0) throw systemError(revents, 'poll', caller);
  return revents;
}

/**
 * closeWouldReset()'s verdict for a live TCP descriptor: from resetHints() where the platform can
 * tell (two syscalls, a third with a hint), else from the full probe, which throws as `caller`'s
 * would. Internal: hardReset() asks it too, for its diagnostics channel.
 */
export function tcpCloseWouldReset(fd: number, native: Binding, rules: PlatformBehaviour, caller: Caller): boolean {
  const hints = native.resetHints(fd);
  if (hints >= 0) {
    const verdict = rules.closeWouldResetByHints(hints);
    if (verdict !== null) return verdict;
  }
  return rules.closeWouldReset(probe(fd, rules.closeWouldResetFields, caller), 'tcp');
}

function familyName(family: number): SocketInspection['family'] {
  switch (family) {
    case Family.inet:
      return 'IPv4';
    case Family.inet6:
      return 'IPv6';
    case Family.unix:
      return 'unix';
    default:
      return null;
  }
}

function stateName(record: Float64Array, transport: Transport, tcpState: number): TcpStateName | null {
  if (transport === 'tcp') {
    return tcpState > 0 && tcpState < TCP_STATES.length ? (TCP_STATES[tcpState] as TcpStateName) : null;
  }
  if (record[Slot.listening] === 1) return 'LISTEN';
  const revents = record[Slot.revents]!;
  if (revents < 0) return null;
  if (revents & Revents.hup) return 'CLOSE';
  if (revents & Revents.rdhup) return 'CLOSE_WAIT';
  return 'ESTABLISHED';
}

/**
 * The result object, its queue fields read from the record. In one place so that its shape can be
 * set once at load (below); pendingError comes after, from the verdict.
 */
function result(
  fd: number,
  family: SocketInspection['family'],
  state: TcpStateName | null,
  record: Float64Array,
  nodeQueuedBytes: number | null,
  peerFinReceived: boolean | null,
  pendingErrorKnown: boolean,
  linger: LingerSetting | null,
  closeWouldReset: boolean,
  tcp: TcpCounters | null,
): SocketInspection {
  return {
    fd,
    family,
    state,
    unreadBytes: orNull(record[UNREAD]!),
    unsentBytes: orNull(record[UNSENT]!),
    unackedBytes: orNull(record[UNACKED]!),
    sendQueueBytes: orNull(record[SEND_QUEUE]!),
    nodeQueuedBytes,
    peerFinReceived,
    pendingError: null,
    pendingErrorKnown,
    linger,
    closeWouldReset,
    tcp,
  };
}

function tcpCounters(record: Float64Array): TcpCounters | null {
  // TCP_INFO answered or not: the state and the round-trip time come with every version of it.
  if (record[STATE]! < 0 && record[RTT]! < 0) return null;
  return {
    rttMicros: orNull(record[RTT]!),
    retransmits: orNull(record[RETRANSMITS]!),
    totalRetransmits: orNull(record[TOTAL_RETRANSMITS]!),
    bytesAcked: orNull(record[BYTES_ACKED]!),
    bytesReceived: orNull(record[BYTES_RECEIVED]!),
    bytesSent: orNull(record[BYTES_SENT]!),
    segmentsIn: orNull(record[SEGS_IN]!),
    segmentsOut: orNull(record[SEGS_OUT]!),
  };
}

// V8 gives an object's field the representation of the first values stored in it, and a number
// read from a Float64Array is a heap number until the reading code is optimised: the record's
// counts would make "double" fields, which V8 boxes on every store, one 16-byte heap number per
// field per result (about 200 of inspectSocket()'s ~480 bytes of garbage per call). One result
// shaped from an all-unknown record at load stores null first, which keeps those fields tagged:
// small integers are then stored as they are (2,591 → 2,427 instructions per call, callgrind).
const UNKNOWN = new Float64Array(SLOT_NAMES.length).fill(-1);
result(-1, null, null, UNKNOWN, null, null, false, null, false, null);
UNKNOWN[STATE] = 0;
tcpCounters(UNKNOWN);
