// The TCP states in which a close can still reset a connection (unread input, or SO_LINGER
// {1, 0}): a connection exists and is not yet finished. In the others there is no connection left
// to reset (CLOSE, TIME_WAIT, LAST_ACK's lone FIN), or none yet (SYN_SENT: an abortive close
// there sends nothing). The same on Linux and the BSDs.
import { State } from '../native/layout.js';

const STATES = [State.ESTABLISHED, State.SYN_RECV, State.FIN_WAIT1, State.FIN_WAIT2, State.CLOSE_WAIT];

export const RESETTABLE_STATES: ReadonlySet<number> = new Set<number>(STATES);

// The same states as bits (1 << state): a test on the hot path without a hash lookup (~40
// instructions under callgrind for Set.has).
const MASK = STATES.reduce((mask, state) => mask | (1 << state), 0);

/** Whether `state` (probe numbering; -1 or 0 when unknown) is in {@link RESETTABLE_STATES}. */
export function resettable(state: number): boolean {
  return state > 0 && state < 31 && ((MASK >> state) & 1) === 1;
}
