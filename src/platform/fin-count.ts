// The peer's FIN, told by counting bytes: Linux counts a received FIN as one byte in TCP_INFO's
// bytes_received, so received = read by Node + still unread + 1 exactly when the FIN arrived.
import { Slot } from '../native/layout.js';

// Slot indices as module constants (cheaper than reading them through the layout module per call).
const { bytesReceived: BYTES_RECEIVED, unread: UNREAD } = Slot;

/** For platforms whose kernel counts the FIN (Linux); see PlatformBehaviour.peerFinReceived. */
export function finByByteCount(record: Float64Array, handleBytesRead: number | null): boolean | null {
  const received = record[BYTES_RECEIVED]!;
  const unread = record[UNREAD]!;
  if (handleBytesRead === null || received < 0 || unread < 0) return null;
  const delivered = handleBytesRead + unread;
  if (received === delivered + 1) return true;
  if (received === delivered) return false;
  return null; // the numbers do not add up (a handle that did not read from the start)
}

/** For platforms that cannot tell. */
export function finUnknown(): null {
  return null;
}
