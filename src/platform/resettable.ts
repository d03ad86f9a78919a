// The TCP states in which a close can still reset a connection (unread input, or SO_LINGER
// {1, 0}): a connection exists and is not yet finished. In the others there is no connection left
// to reset (CLOSE, TIME_WAIT, LAST_ACK's lone FIN), or none yet (SYN_SENT: an abortive close
// there sends nothing). The same on Linux and the BSDs.
import { State } from '../native/layout.js';

export const RESETTABLE_STATES: ReadonlySet<number> = new Set<number>([
  State.ESTABLISHED,
  State.SYN_RECV,
  State.FIN_WAIT1,
  State.FIN_WAIT2,
  State.CLOSE_WAIT,
]);
