// The peer's FIN, as Linux tells it: from the TCP state wherever that says (states only a FIN
// leads to, or states before one), and in CLOSE, which a FIN and an RST both end in, by counting
// bytes: Linux counts a received FIN as one byte in TCP_INFO's bytes_received, so received = read
// by Node + still unread + 1 exactly when the FIN arrived.
import { Slot, State } from '../native/layout.js';

// Slot indices as module constants (cheaper than reading them through the layout module per call).
const { bytesReceived: BYTES_RECEIVED, state: STATE, unread: UNREAD } = Slot;
const { CLOSE, CLOSE_WAIT, LAST_ACK, CLOSING, TIME_WAIT, LISTEN } = State;

/**
 * For platforms whose kernel counts the FIN (Linux); see PlatformBehaviour.peerFinReceived.
 * `handleBytesRead` is called only in CLOSE (or with the state unknown): it reads a native
 * accessor, which every other state spares.
 */
export function finByStateOrByteCount(record: Float64Array, handleBytesRead: () => number | null): boolean | null {
  const state = record[STATE]!;
  if (state > 0 && state !== CLOSE) {
    // A listening socket (a descriptor number) has no peer: there is no FIN to tell of.
    if (state === LISTEN) return null;
    return state === CLOSE_WAIT || state === LAST_ACK || state === CLOSING || state === TIME_WAIT;
  }
  const received = record[BYTES_RECEIVED]!;
  const unread = record[UNREAD]!;
  if (received < 0 || unread < 0) return null;
  const bytesRead = handleBytesRead();
  if (bytesRead === null) return null;
  const delivered = bytesRead + unread;
  if (received === delivered + 1) return true;
  if (received === delivered) return false;
  return null; // the numbers do not add up (a handle that did not read from the start)
}

/** For platforms that cannot tell. */
export function finUnknown(): null {
  return null;
}
