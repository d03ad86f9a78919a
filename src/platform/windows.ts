// Windows: Node gives no socket descriptor (handle.fd is -1), so there is no native layer and no
// probe. What still works goes through Node itself: hardReset() of a plain TCP socket uses
// resetAndDestroy() (libuv sets SO_LINGER {1, 0} there), shutdownWrite() uses end().
import type { PlatformBehaviour } from './behaviour.js';
import { finUnknown } from './fin-count.js';

export const windows: PlatformBehaviour = Object.freeze({
  name: 'win32',
  peekFields: 0,
  peekClearedByPoll: false,
  peekUnsupportedReason: 'Windows: Node exposes no socket descriptors',
  pendingError: () => null,
  tcpState: () => -1,
  closeWouldResetFields: 0,
  closeWouldReset: () => false,
  closeWouldResetByHints: () => null,
  listeningCloseWouldReset: () => false,
  peerFinReceived: finUnknown,
  resetAfterShutdownIsEnd: false,
  sendQueueCountsFin: false,
  // Winsock resets, but nothing here lingers (no descriptors).
  unreadInputResets: Object.freeze({ tcp: true, unix: false }),
  // Nothing here lingers (no descriptors).
  abortiveCloseSendsNoReset: () => false,
  // Winsock's l_linger is a u_short; nothing here sets it (there is no native layer).
  maxLingerSeconds: 65535,
});
