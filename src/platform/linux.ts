// Linux: the only platform where sockclose can see a pending error without consuming it (POLLERR),
// and the one this project's tests run on.
//
// Facts measured here (../shared/notes/close-semantics.md): SO_ERROR clears the error; POLLERR
// stays set until something reads it; after an RST the state is CLOSE; data received before the RST
// stays readable; a close() with unread input sends RST whatever SO_LINGER says.
import { errno } from '../errno.js';
import { Field, ResetHint, Revents, Slot, State } from '../native/layout.js';
import type { PeekContext, PendingVerdict, PlatformBehaviour, Transport } from './behaviour.js';
import { finByStateOrByteCount } from './fin-count.js';
import { acceptQueueHolds, finishing, resettable, resettableOrFinishing } from './resettable.js';

// Slot indices and constants as module constants: read through the layout module's objects they
// cost ~15-50 instructions each on inspectSocket()'s path (callgrind).
const { revents: REVENTS, state: STATE, unread: UNREAD, unsent: UNSENT, lingerEnabled: LINGER_ENABLED, lingerSeconds: LINGER_SECONDS } = Slot;
const { err: ERR } = Revents;
const { unread: HINT_UNREAD, unsent: HINT_UNSENT, stateShift: STATE_SHIFT } = ResetHint;


/**
 * Linux only says *that* an error is pending (POLLERR), not which, without clearing it. Name it from
 * the connection's history, the way the kernel chose it (tcp_reset, tcp_write_err):
 * - never established (the SYN was never acknowledged): ECONNREFUSED, or ETIMEDOUT after retries;
 * - the peer's FIN had arrived before the reset (known for Node sockets, by counting bytes: the
 *   kernel counts the FIN as one received byte): EPIPE;
 * - otherwise ECONNRESET. A connection that died of retransmission or keepalive timeout looks the
 *   same afterwards and is also named ECONNRESET; takeSocketError() reads the exact value.
 */
function pendingError(record: Float64Array, context: PeekContext): PendingVerdict | null {
  if ((record[REVENTS]! & ERR) === 0) return null;
  const { ECONNRESET, ECONNREFUSED, EPIPE, ETIMEDOUT } = errno();
  if (context.transport === 'unix') {
    // AF_UNIX sets one error only: ECONNRESET, on a peer that closed with our data unread.
    return { errno: ECONNRESET, syscall: 'poll', inferred: true };
  }
  const state = record[STATE]!;
  // A TCP error is fatal and leaves CLOSE; anything else (an error-queue entry) we cannot name.
  if (state !== State.CLOSE) return { errno: 0, syscall: 'poll', unnamed: true };

  // Never established: no round-trip was ever measured (the accepting side measures one on the
  // handshake's last ACK, even with nothing acked or received since) and nothing moved.
  if (record[Slot.rttMicros] === 0 && record[Slot.bytesAcked] === 0 && record[Slot.bytesReceived] === 0) {
    return { errno: record[Slot.retransmits]! > 0 ? ETIMEDOUT : ECONNREFUSED, syscall: 'poll', inferred: true };
  }
  if (context.finCounted()) {
    return { errno: EPIPE, syscall: 'poll', inferred: true };
  }
  return { errno: ECONNRESET, syscall: 'poll', inferred: true };
}

function closeWouldReset(record: Float64Array, transport: Transport): boolean {
  const unread = record[UNREAD]!;
  if (transport === 'unix') {
    // AF_UNIX has no RST; closing with unread input makes the peer's next read fail ECONNRESET.
    return unread > 0;
  }
  const state = record[STATE]!;
  // __tcp_close(): unread input resets in every state but CLOSE, before SO_LINGER is looked at.
  if (unread > 0) return resettableOrFinishing(state);
  if (record[LINGER_ENABLED] !== 1 || record[LINGER_SECONDS] !== 0) return false;
  // tcp_disconnect(): an abortive linger resets a live connection, and one in LAST_ACK or CLOSING
  // only while bytes of ours are unsent (else it drops the connection without a word).
  return resettable(state) || (finishing(state) && record[UNSENT]! > 0);
}

/** tcp_disconnect()'s exception, as closeWouldReset() has it: LAST_ACK or CLOSING, nothing unsent. */
function abortiveCloseSendsNoReset(state: number, unsent: number): boolean {
  return unsent === 0 && finishing(state);
}

/** closeWouldReset() for a TCP socket, from resetHints(): the same rule. */
function closeWouldResetByHints(hints: number): boolean {
  // No hint: nothing unread, no abortive linger. Else the state decides (0, unknown, is in no set).
  if (hints === 0) return false;
  const state = hints >> STATE_SHIFT;
  if (resettable(state)) return true;
  return finishing(state) && (hints & (HINT_UNREAD | HINT_UNSENT)) !== 0;
}

/**
 * closeWouldReset() of a listener: true while a connection waits in its accept queue. Closing a TCP
 * listener disconnects every queued child (inet_csk_listen_stop() -> tcp_disconnect()), which
 * sends each RST; closing an AF_UNIX one releases each embryo, and its client's next read fails
 * with ECONNRESET (unix_release_sock()). Measured here (Linux 6.x): three clients queued on
 * either kind, three ECONNRESET. TCP_INFO counts the queue too (tcpi_unacked on a listener), but
 * not for AF_UNIX, and only whether it is empty matters. A queued connection its client has
 * already reset still counts, though its close sends nothing.
 */
const listeningCloseWouldReset = acceptQueueHolds;

export const linux: PlatformBehaviour = Object.freeze({
  name: 'linux',
  peekFields: Field.poll | Field.tcp,
  // pendingError() starts with POLLERR: without it, nothing is pending.
  peekClearedByPoll: true,
  peekUnsupportedReason: null,
  pendingError,
  tcpState: (record: Float64Array) => record[STATE]!,
  closeWouldResetFields: Field.unread | Field.linger | Field.tcp,
  closeWouldReset,
  closeWouldResetByHints,
  listeningCloseWouldReset,
  peerFinReceived: finByStateOrByteCount,
  resetAfterShutdownIsEnd: false,
  sendQueueCountsFin: true,
  // __tcp_close() resets; unix_release_sock() sets ECONNRESET on the peer.
  unreadInputResets: Object.freeze({ tcp: true, unix: true }),
  abortiveCloseSendsNoReset,
  // sk_lingertime is a long in jiffies, capped at MAX_SCHEDULE_TIMEOUT: the API's own limit rules.
  maxLingerSeconds: 65535,
});
