// The TCP states in which a close can still reset a connection, with the facts that decide it.
//
// RESETTABLE_STATES: a connection exists and neither side has finished it; a close with unread
// input or SO_LINGER {1, 0} resets it (the same on Linux and the BSDs). In CLOSE and TIME_WAIT
// there is no connection left, in SYN_SENT none yet (an abortive close there sends nothing).
//
// FINISHING_STATES (LAST_ACK, CLOSING): both FINs are on their way, ours not yet acknowledged, so
// bytes of ours may still be unsent or unacknowledged and a reset would destroy them (a server that
// half-closed after a large response to a slow client). Linux (__tcp_close) resets there on unread
// input, and on an abortive linger only while bytes are unsent (tcp_disconnect: snd_nxt !=
// write_seq); the BSDs' abortive close (tcp_drop) resets any synchronized connection. Measured
// here (Linux 6.x, LAST_ACK, the client not reading): with 100 bytes unread the client then read
// 4 KB and ECONNRESET; without them, all 2.99 MB and its EOF.
import { Revents, State } from '../native/layout.js';

const STATES = [State.ESTABLISHED, State.SYN_RECV, State.FIN_WAIT1, State.FIN_WAIT2, State.CLOSE_WAIT];
const FINISHING = [State.LAST_ACK, State.CLOSING];

export const RESETTABLE_STATES: ReadonlySet<number> = new Set<number>(STATES);
export const FINISHING_STATES: ReadonlySet<number> = new Set<number>(FINISHING);

// The same states as bits (1 << state): a test on the hot path without a hash lookup (~40
// instructions under callgrind for Set.has).
const MASK = STATES.reduce((mask, state) => mask | (1 << state), 0);
const FINISHING_MASK = FINISHING.reduce((mask, state) => mask | (1 << state), 0);
const EITHER_MASK = MASK | FINISHING_MASK;

function inMask(mask: number, state: number): boolean {
  return state > 0 && state < 31 && ((mask >> state) & 1) === 1;
}

/** Whether `state` (probe numbering; -1 or 0 when unknown) is in {@link RESETTABLE_STATES}. */
export function resettable(state: number): boolean {
  return inMask(MASK, state);
}

/** Whether `state` (probe numbering; -1 or 0 when unknown) is in {@link FINISHING_STATES}. */
export function finishing(state: number): boolean {
  return inMask(FINISHING_MASK, state);
}

/** Whether `state` is in either set: a connection a close can still reset, given the facts. */
export function resettableOrFinishing(state: number): boolean {
  return inMask(EITHER_MASK, state);
}

/**
 * Whether a listener's accept queue holds a connection, from its poll() events (-1 if unknown):
 * every kernel here reports a listener readable exactly then. What its close does to those
 * connections is each platform's rule (listeningCloseWouldReset).
 */
export function acceptQueueHolds(revents: number): boolean {
  return revents > 0 && (revents & Revents.in) !== 0;
}
