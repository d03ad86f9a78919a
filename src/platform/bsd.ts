// macOS and the BSDs. Written from their documentation and kernel sources (xnu, FreeBSD); this
// project's CI runs on Linux, so none of this is run by a test. What CI does check: the native
// layer compiles for macOS (linked, imports audited) and, against stand-in headers, for FreeBSD,
// NetBSD, OpenBSD and DragonFly (npm run check:platforms; the README's platform table).
//
// What differs from Linux: SO_ERROR is destructive here too, and poll() does not report a pending
// error (a socket with so_error is merely readable and writable), so there is no honest
// non-destructive peek. A close() with unread input discards it without RST (tcp_disconnect
// flushes the receive buffer); only SO_LINGER {1, 0} resets.
//
// The native layer (native/sys_bsd.cc) reports a connection whose TCP_INFO fails with ECONNRESET
// (FreeBSD: dropped, or TIME_WAIT up to 13.x) as CLOSE, so it is not taken for resettable.
import { Field, ResetHint, Slot } from '../native/layout.js';
import type { PlatformBehaviour, Transport } from './behaviour.js';
import type { PlatformName } from './detect.js';
import { finUnknown } from './fin-count.js';
import { acceptQueueHolds, resettableOrFinishing } from './resettable.js';

// ResetHint's bits as module constants (closeWouldReset()'s hot path, as in linux.ts).
const { abortive: HINT_ABORTIVE, stateShift: STATE_SHIFT } = ResetHint;

/**
 * The longest SO_LINGER time each kernel stores. xnu's SO_LINGER_SEC (the option sys_bsd.cc uses
 * there) multiplies the seconds by hz (100) into the short so_linger: 327 s is the last value that
 * fits, 328 s wraps to a negative time. FreeBSD, NetBSD, OpenBSD and DragonFly keep seconds in a
 * 16-bit so_linger (short on some, u_short on others): 32767 fits both.
 */
export function bsdMaxLingerSeconds(name: PlatformName): number {
  return name === 'darwin' ? 327 : 32767;
}

export function bsd(name: PlatformName): PlatformBehaviour {
  return Object.freeze({
    name,
    peekFields: 0,
    peekClearedByPoll: false,
    peekUnsupportedReason:
      `${name} reports a pending socket error only through SO_ERROR, which clears it; ` +
      'use takeSocketError() to read it (destructively)',
    pendingError: () => null,
    tcpState: (record: Float64Array) => record[Slot.state]!,
    closeWouldResetFields: Field.linger | Field.tcp,
    closeWouldReset(record: Float64Array): boolean {
      const abortive = record[Slot.lingerEnabled] === 1 && record[Slot.lingerSeconds] === 0;
      if (!abortive) return false;
      const state = record[Slot.state]!;
      // OpenBSD, NetBSD and DragonFly give no state: assume a connection is there to reset.
      // tcp_drop() resets any synchronized connection, LAST_ACK and CLOSING included.
      return state < 0 || resettableOrFinishing(state);
    },
    closeWouldResetByHints(hints: number): boolean {
      // The same rule: only an abortive linger resets; an unknown state (0) counts as resettable.
      if ((hints & HINT_ABORTIVE) === 0) return false;
      const state = hints >> STATE_SHIFT;
      return state === 0 || resettableOrFinishing(state);
    },
    listeningCloseWouldReset(revents: number, transport: Transport): boolean {
      // soclose() of a listener aborts each connection in its accept queue (soabort()): TCP's
      // tcp_drop() sends RST to a synchronized one, whatever SO_LINGER says. An AF_UNIX client
      // reads EOF instead (the error goes to the aborted server-side socket): no reset there.
      return transport === 'tcp' && acceptQueueHolds(revents);
    },
    peerFinReceived: finUnknown,
    resetAfterShutdownIsEnd: false,
    // FIONWRITE / SO_NWRITE: bytes in the socket buffer, where a FIN takes no room.
    sendQueueCountsFin: false,
    // tcp_disconnect() flushes the receive buffer and sends FIN (see above).
    unreadInputResets: Object.freeze({ tcp: false, unix: false }),
    // tcp_drop() resets every synchronized connection, LAST_ACK and CLOSING included.
    abortiveCloseSendsNoReset: () => false,
    maxLingerSeconds: bsdMaxLingerSeconds(name),
  });
}
