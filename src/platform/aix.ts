// AIX and IBM i (PASE). Written from IBM's documentation and libuv issues 3481 / 3494; this
// project's CI cannot run either, so none of this is verified on the real systems (see the README).
//
// The difference that matters: when the peer resets a connection, the socket enters an error state
// at once: SO_ERROR = ECONNRESET and getsockname() fails with EINVAL, while data received before
// the reset stays readable. getsockname() does not clear anything, so it is the non-destructive
// sign that peekSocketError() reads.
import { constants } from 'node:os';

import { Field, Revents, Slot } from '../native/layout.js';
import type { PeekContext, PendingVerdict, PlatformBehaviour, Transport } from './behaviour.js';
import type { PlatformName } from './detect.js';

const { ECONNRESET, EINVAL } = constants.errno;

function pendingError(record: Float64Array, context: PeekContext): PendingVerdict | null {
  if (context.transport === 'tcp' && record[Slot.socknameErrno] === EINVAL) {
    return { errno: ECONNRESET, syscall: 'getsockname', inferred: true };
  }
  if (record[Slot.revents]! > 0 && (record[Slot.revents]! & Revents.err) !== 0) {
    return { errno: 0, syscall: 'poll', unnamed: true };
  }
  return null;
}

function closeWouldReset(record: Float64Array, transport: Transport): boolean {
  // A socket in the error state has no connection left to reset.
  if (transport === 'tcp' && record[Slot.socknameErrno] === EINVAL) return false;
  const abortive = record[Slot.lingerEnabled] === 1 && record[Slot.lingerSeconds] === 0;
  // Whether AIX resets on unread input is not documented; say yes, the cautious answer.
  return abortive || record[Slot.unread]! > 0;
}

export function aix(name: PlatformName): PlatformBehaviour {
  return Object.freeze({
    name,
    peekFields: Field.poll | Field.sockname,
    peekUnsupportedReason: null,
    pendingError,
    closeWouldResetFields: Field.unread | Field.linger | Field.sockname,
    closeWouldReset,
    countsFinInBytesReceived: false,
    resetAfterShutdownIsEnd: name === 'os400',
  });
}
