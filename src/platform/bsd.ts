// macOS and the BSDs. Written from their documentation and kernel sources; this project's CI runs
// on Linux only, so none of this is verified by a test (the README's platform table says so).
//
// What differs from Linux: SO_ERROR is destructive here too, and poll() does not report a pending
// error (a socket with so_error is merely readable and writable), so there is no honest
// non-destructive peek. A close() with unread input discards it without RST (tcp_disconnect
// flushes the receive buffer); only SO_LINGER {1, 0} resets.
import { Field, Slot } from '../native/layout.js';
import type { PlatformBehaviour } from './behaviour.js';
import type { PlatformName } from './detect.js';
import { finUnknown } from './fin-count.js';
import { RESETTABLE_STATES } from './resettable.js';

export function bsd(name: PlatformName): PlatformBehaviour {
  return Object.freeze({
    name,
    peekFields: 0,
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
      // OpenBSD and NetBSD give no state: assume a connection is there to reset.
      return state < 0 || RESETTABLE_STATES.has(state);
    },
    peerFinReceived: finUnknown,
    resetAfterShutdownIsEnd: false,
  });
}
