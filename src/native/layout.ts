// Mirror of native/probe.h: the probe record's slots and the constants written into it. The loader
// compares SLOT_NAMES with the names the binary exports and refuses a binary that differs.

/** Slot names in order, exactly as native/probe.h lists them. */
export const SLOT_NAMES = [
  'family',
  'type',
  'listening',
  'revents',
  'state',
  'unread',
  'unsent',
  'unacked',
  'sendQueue',
  'lingerEnabled',
  'lingerSeconds',
  'socknameErrno',
  'rttMicros',
  'retransmits',
  'totalRetransmits',
  'backoff',
  'probes',
  'options',
  'bytesAcked',
  'bytesReceived',
  'bytesSent',
  'segsIn',
  'segsOut',
] as const;

type SlotName = (typeof SLOT_NAMES)[number];

/** Index of each slot in the record. */
export const Slot = Object.freeze(
  Object.fromEntries(SLOT_NAMES.map((name, index) => [name, index])) as { [K in SlotName]: number },
);

/** Groups of facts a probe can gather (each costs its own syscalls). */
export const Field = Object.freeze({
  describe: 1 << 0,
  poll: 1 << 1,
  tcp: 1 << 2,
  unread: 1 << 3,
  queues: 1 << 4,
  linger: 1 << 5,
  sockname: 1 << 6,
});

/**
 * native/sys.h's ResetHint bits: what resetHints() found that can make a close reset (abortive
 * linger, unread bytes) and, when either is set, whether bytes wait unsent (Linux) and the TCP
 * state (0 if unknown) from bit 8 on.
 */
export const ResetHint = Object.freeze({ abortive: 1, unread: 2, unsent: 4, stateShift: 8 });

export const Family = Object.freeze({ inet: 1, inet6: 2, unix: 3, other: 4 });
export const SocketType = Object.freeze({ stream: 1, dgram: 2, other: 3 });
export const Revents = Object.freeze({ in: 1, out: 2, err: 4, hup: 8, rdhup: 16 });

/** TCP states as the probe numbers them (Linux's numbering); index 0 is unused. */
export const TCP_STATES = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
] as const;

/** A TCP state's name, as Linux's `ss` prints it (without the dashes). */
export type TcpStateName = Exclude<(typeof TCP_STATES)[number], ''>;

export const State = Object.freeze({
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT1: 4,
  FIN_WAIT2: 5,
  TIME_WAIT: 6,
  CLOSE: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
});

/** A record value, with the native layer's -1 ("cannot tell") as null. */
export function known(value: number | undefined): number | null {
  return value === undefined || value < 0 ? null : value;
}
