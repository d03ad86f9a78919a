// Reads the kernel's view of a lingering connection: has the peer finished sending (its FIN), did
// it reset, is our FIN out, is anything still moving. Node cannot tell once the socket is
// destroyed (and libuv reports many resets as a clean EOF), so this asks the native probe.
//
// Cheap on the common path (every lingering close ends with one such look, and a syscall costs
// about a microsecond on the machines measured): where the platform gives the TCP state, TCP_INFO
// and the unread count say it all, in one probe; the platform's own error peek runs only to name
// a reset. Without a TCP state (AF_UNIX, some platforms) poll() and the peek decide.
//
// Note: on Linux a socket whose FIN and the peer's have both gone by is in CLOSE (the TIME_WAIT is
// a separate mini-socket), so CLOSE is the usual end of a lingering close, not only of a reset:
// Linux's count of the received FIN as a byte tells the two apart.
import { constants } from 'node:os';

import { Field, known, Revents, Slot, State } from '../native/layout.js';
import { platform, type PeekContext, type PendingVerdict, type Transport } from '../platform/index.js';
import { probe } from '../target.js';

const { ECONNRESET } = constants.errno;

/** States in which the peer's FIN has arrived (a reset would have left CLOSE instead). */
const PEER_FIN_STATES = new Set<number>([State.CLOSE_WAIT, State.LAST_ACK, State.CLOSING, State.TIME_WAIT]);
/** States in which our FIN has gone out. */
const OUR_FIN_STATES = new Set<number>([State.FIN_WAIT1, State.FIN_WAIT2, State.CLOSING, State.TIME_WAIT, State.LAST_ACK]);

type Caller = (...args: never[]) => unknown;

/** What the kernel says about a lingering connection. */
export interface PeerView {
  /** Bytes received and not yet read (null: cannot tell). */
  unread: number | null;
  /** The peer's FIN has arrived. */
  peerFinished: boolean;
  /** The connection was reset (or failed): the error, else null. */
  reset: PendingVerdict | null;
  /** Our FIN is out, as far as the state tells (null: the platform gives no state). */
  ourFinSent: boolean | null;
  /** A number that changes whenever bytes move either way (for the idle timeout). */
  progress: number;
  /** SO_LINGER is {1, 0}, an abortive close asked for (read with `Extra.linger`). */
  abortive: boolean;
}

/**
 * Optional facts for {@link readPeer}, each costing syscalls: `queues` (the send queue, for the
 * idle timeout's progress where TCP_INFO gives no acknowledged count); `linger` (SO_LINGER).
 */
export const Extra = Object.freeze({ none: 0, queues: Field.queues, linger: Field.linger });

/**
 * Probes `fd` (the live descriptor of a lingering socket) and reads the record.
 *
 * @param handleBytesRead - Bytes Node's transport handle has read from the connection, for the
 *   FIN accounting where the platform counts a FIN in bytesReceived (Linux).
 * @param extra - {@link Extra} fields to read as well.
 */
export function readPeer(fd: number, transport: Transport, handleBytesRead: number, extra: number, caller: Caller): PeerView {
  if (transport === 'tcp') {
    const record = probe(fd, Field.tcp | Field.unread | extra, caller);
    const state = record[Slot.state]!;
    if (state > 0) return fromTcpState(record, state, fd, handleBytesRead, extra, caller);
  }
  return fromPoll(fd, transport, handleBytesRead, extra, caller);
}

function abortiveIn(record: Float64Array, extra: number): boolean {
  return (extra & Extra.linger) !== 0 && record[Slot.lingerEnabled] === 1 && record[Slot.lingerSeconds] === 0;
}

function progressOf(record: Float64Array, handleBytesRead: number, unread: number | null, extra: number): number {
  const acked = known(record[Slot.bytesAcked]);
  const sendQueue = extra & Extra.queues ? known(record[Slot.sendQueue]) : null;
  return handleBytesRead + (unread ?? 0) + (acked ?? -(sendQueue ?? 0));
}

function fromTcpState(record: Float64Array, state: number, fd: number, handleBytesRead: number, extra: number, caller: Caller): PeerView {
  const rules = platform();
  const unread = known(record[Slot.unread]);
  const view: PeerView = {
    unread,
    peerFinished: PEER_FIN_STATES.has(state),
    reset: null,
    ourFinSent: OUR_FIN_STATES.has(state) || state === State.CLOSE,
    progress: progressOf(record, handleBytesRead, unread, extra),
    abortive: abortiveIn(record, extra),
  };
  if (state !== State.CLOSE) return view;

  // CLOSE: the connection is over, gracefully (our FIN acknowledged after theirs) or by a reset.
  // Where the platform counts a received FIN as a byte (Linux), the count tells, even after libuv
  // has read (and so cleared) a reset's error.
  const finReceived = rules.peerFinReceived(record, handleBytesRead);
  if (finReceived !== null) {
    view.peerFinished = finReceived;
    if (!finReceived) view.reset = nameReset(fd, handleBytesRead, caller);
    return view;
  }
  view.reset = rules.peekFields !== 0 ? peekReset(fd, handleBytesRead, caller) : null;
  view.peerFinished = view.reset === null;
  return view;
}

function fromPoll(fd: number, transport: Transport, handleBytesRead: number, extra: number, caller: Caller): PeerView {
  const rules = platform();
  const record = probe(fd, rules.peekFields | Field.poll | Field.unread | extra, caller);
  const unread = known(record[Slot.unread]);
  const revents = record[Slot.revents]!;
  const progress = progressOf(record, handleBytesRead, unread, extra);
  const reset = rules.peekFields !== 0 ? rules.pendingError(record, peekContext(record, transport, handleBytesRead)) : null;
  return {
    unread,
    peerFinished: revents > 0 && (revents & Revents.rdhup) !== 0 && reset === null,
    reset,
    ourFinSent: null,
    progress,
    abortive: abortiveIn(record, extra),
  };
}

/** What the platform's peek needs besides the record: the FIN count reads that same record. */
function peekContext(record: Float64Array, transport: Transport, handleBytesRead: number): PeekContext {
  return {
    transport,
    handleBytesRead: () => handleBytesRead,
    finCounted: (read) => platform().peerFinReceived(record, read) === true,
  };
}

/** The platform's non-destructive peek at the pending error (a second probe), or null. */
function peekReset(fd: number, handleBytesRead: number, caller: Caller): PendingVerdict | null {
  const rules = platform();
  const record = probe(fd, rules.peekFields | Field.unread, caller);
  return rules.pendingError(record, peekContext(record, 'tcp', handleBytesRead));
}

/** A reset we know happened: named by the platform's peek if it can, else ECONNRESET. */
function nameReset(fd: number, handleBytesRead: number, caller: Caller): PendingVerdict {
  const named = platform().peekFields !== 0 ? peekReset(fd, handleBytesRead, caller) : null;
  // libuv may already have read the error (which clears it): then only the state is left.
  return named ?? { errno: ECONNRESET, syscall: 'read', inferred: true };
}
