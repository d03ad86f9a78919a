// AIX and IBM i (PASE). AIX's and IBM i's behaviour here is written from IBM's documentation and
// the reports in seed 000 / libuv issues 3481 and 3494; this project cannot run either system. The
// reading of the records below is exercised on Linux by test/aix: an LD_PRELOAD emulation of the
// error state, and native/sys_aix.cc itself built for Linux (see docs/aix.md).
//
// The difference that matters: when the peer resets a connection, the socket enters an error state
// at once: SO_ERROR = ECONNRESET and getsockname() fails with EINVAL, while data received before
// the reset stays readable. getsockname() consumes nothing, so it is the non-destructive sign that
// peekSocketError() reads; SO_ERROR, as everywhere, is cleared by reading it.
import { constants } from 'node:os';

import { Field, Revents, Slot, State } from '../native/layout.js';
import type { PeekContext, PendingVerdict, PlatformBehaviour, Transport } from './behaviour.js';
import type { PlatformName } from './detect.js';
import { finUnknown } from './fin-count.js';
import { acceptQueueHolds } from './resettable.js';

const { ECONNRESET, EINVAL } = constants.errno;

/** getsockname()'s EINVAL on a TCP socket: the error state a reset (or any fatal error) leaves. */
function inErrorState(record: Float64Array, transport: Transport): boolean {
  return transport === 'tcp' && record[Slot.socknameErrno] === EINVAL;
}

/**
 * The state says an error is pending, not which: it is named ECONNRESET (`inferred: true`), what a
 * peer's reset sets and what libuv issue 3481 reports. A connection that died of a timeout would
 * look the same; takeSocketError() reads the exact value (and clears it).
 * AF_UNIX has no such state; there, POLLERR is all there is, and it cannot be named.
 */
function pendingError(record: Float64Array, context: PeekContext): PendingVerdict | null {
  if (inErrorState(record, context.transport)) {
    return { errno: ECONNRESET, syscall: 'getsockname', inferred: true };
  }
  if (record[Slot.revents]! > 0 && (record[Slot.revents]! & Revents.err) !== 0) {
    return { errno: 0, syscall: 'poll', unnamed: true };
  }
  return null;
}

function closeWouldReset(record: Float64Array, transport: Transport): boolean {
  // In the error state the connection is already gone: closing sends nothing, unread bytes or not.
  if (inErrorState(record, transport)) return false;
  const abortive = record[Slot.lingerEnabled] === 1 && record[Slot.lingerSeconds] === 0;
  // Whether AIX resets on unread input is not documented (4.4BSD, its ancestor, discards the input
  // and sends FIN; Linux and Windows reset). Say yes: a caller that lingers needlessly loses a
  // little time, one that trusts a wrong "no" loses the peer's response.
  return abortive || record[Slot.unread]! > 0;
}

/**
 * A listener: true while a connection waits to be accepted. AIX's socket layer derives from
 * 4.4BSD, whose close of a listener aborts each queued connection (TCP: RST); as for unread
 * input, a "yes" is assumed where that is not documented (AF_UNIX).
 */
const listeningCloseWouldReset = acceptQueueHolds;

/** The behaviour for AIX (`'aix'`) or IBM i (`'os400'`). */
export function aix(name: PlatformName): PlatformBehaviour {
  return Object.freeze({
    name,
    peekFields: Field.poll | Field.sockname,
    // The error state shows in getsockname(), not in poll().
    peekClearedByPoll: false,
    peekUnsupportedReason: null,
    pendingError,
    // No TCP_INFO: the error state is the one state that shows (the connection is gone: CLOSE).
    tcpState: (record: Float64Array, transport: Transport) => (inErrorState(record, transport) ? State.CLOSE : -1),
    closeWouldResetFields: Field.unread | Field.linger | Field.sockname,
    closeWouldReset,
    // No hint is "no" here too; with one, the error state (getsockname()) decides: the full probe.
    closeWouldResetByHints: (hints: number) => (hints === 0 ? false : null),
    listeningCloseWouldReset,
    peerFinReceived: finUnknown,
    // IBM i: read() can fail with ECONNRESET after our own shutdown(SHUT_WR) (libuv issue 3494,
    // IBM's shutdown() documentation); a lingering drain takes that as the peer's end. AIX is not
    // reported to do this.
    resetAfterShutdownIsEnd: name === 'os400',
    // No send queue is read here (sys_aix.cc): nothing to correct.
    sendQueueCountsFin: false,
    // As closeWouldReset() assumes, on either transport.
    unreadInputResets: Object.freeze({ tcp: true, unix: true }),
    // No TCP state is read here (no TCP_INFO): an abortive close is taken to reset, as in 4.4BSD.
    abortiveCloseSendsNoReset: () => false,
    // Assumed, not verified: AIX's socket layer derives from 4.4BSD, whose so_linger is a short.
    maxLingerSeconds: 32767,
  });
}
