// sockclose's node:diagnostics_channel events, the convention Node's http and undici use. Every
// publish checks `hasSubscribers` first and builds nothing when nobody listens: the cost of an
// event nobody subscribed to is one property read. Channels are looked up by name, process-wide
// per thread, so a subscriber sees events from every copy of sockclose the process loaded.
//
// Node isolates subscribers: publish() never throws to the publisher; a subscriber that throws has
// its error re-thrown on the next tick (an 'uncaughtException', as a throwing event listener's
// would be), while the socket it was told about closes as it would have anyway.
import diagnosticsChannel from 'node:diagnostics_channel';
import type net from 'node:net';

import type { AuditedClose } from '../audit/types.js';
import type { LingerReport } from '../lingering/types.js';

/** The names of sockclose's diagnostics channels. */
export const ChannelNames = Object.freeze({
  /** A lingering close ended (every reason, `'overload'` included). Message: {@link LingerEndMessage}. */
  lingerEnd: 'sockclose:linger:end',
  /** hardReset() reset a connection. Message: {@link HardResetMessage}. */
  hardReset: 'sockclose:hard-reset',
  /** A close audit recorded how a connection ended. Message: {@link AuditCloseMessage}. */
  auditClose: 'sockclose:audit:close',
} as const);

/**
 * The message on `sockclose:linger:end`: published once per finished lingering close, right before
 * its descriptor closes, or right after it for a linger the native lingerer ran (published only if
 * the channel had a subscriber when the lingerer took the descriptor over: the socket is kept for
 * the message only then).
 */
export interface LingerEndMessage {
  /** The linger's report, as `onReport` and `lingeringClose()` give it. */
  report: LingerReport;
  /** The socket whose lingering close ended (`destroyed`; its descriptor about to close, or closed). */
  socket: net.Socket;
}

/**
 * The message on `sockclose:hard-reset`: published once per hardReset() that reset a connection,
 * after it did; not for a connection already over (the peer had reset it, or both FINs were
 * exchanged), whose close sends no RST (asked, while the channel has a subscriber, as
 * `closeWouldReset()` asks; without the native binary every reset is published).
 */
export interface HardResetMessage {
  /** The socket reset, or null when hardReset() was given a raw descriptor. */
  socket: net.Socket | null;
  /**
   * The descriptor the reset closed (for a socket, its number at the call; it may be reused
   * since), or -1 when Node's own resetAndDestroy() did it (no native binary, or Windows).
   */
  fd: number;
}

/** The message on `sockclose:audit:close`: published for each close a close audit records. */
export interface AuditCloseMessage {
  /** How the connection ended. */
  close: AuditedClose;
  /** The socket that closed (`destroyed`; its descriptor about to close, or closed by a lingering close that took it over). */
  socket: net.Socket;
  /** The server it belonged to. */
  server: net.Server;
}

const lingerEnd = diagnosticsChannel.channel(ChannelNames.lingerEnd);
const hardResetChannel = diagnosticsChannel.channel(ChannelNames.hardReset);
const auditClose = diagnosticsChannel.channel(ChannelNames.auditClose);

/**
 * Publishes a finished lingering close on `sockclose:linger:end`. Called by the lingering close
 * once per finished linger (`'overload'` included): for a linger the native lingerer ran, once its
 * descriptor is closed (after Node let go of the socket); for an end decided in JavaScript
 * (overload, a timeout during the flush), at once. The close audit reads it to know a linger
 * handled the close: a report that comes after the audit's look corrects the unread-input RST the
 * look saw (the linger drains that input). Internal.
 */
export function publishLingerEnd(report: LingerReport, socket: net.Socket): void {
  if (!lingerEnd.hasSubscribers) return;
  lingerEnd.publish({ report, socket } satisfies LingerEndMessage);
}

/** Whether anybody listens on `sockclose:linger:end` (a lingering close then keeps its socket for the report). Internal. */
export function lingerEndSubscribed(): boolean {
  return lingerEnd.hasSubscribers;
}

/**
 * Whether `sockclose:hard-reset` has a subscriber: hardReset() then asks whether a reset follows
 * (a connection the peer already reset gets none), which costs syscalls nobody else needs. Internal.
 */
export function hardResetObserved(): boolean {
  return hardResetChannel.hasSubscribers;
}

/** Publishes a reset on `sockclose:hard-reset`. Called by hardReset(). Internal. */
export function publishHardReset(socket: net.Socket | null, fd: number): void {
  if (!hardResetChannel.hasSubscribers) return;
  hardResetChannel.publish({ socket, fd } satisfies HardResetMessage);
}

/** Whether anybody listens on `sockclose:audit:close` (an audit then builds the full record). Internal. */
export function auditCloseSubscribed(): boolean {
  return auditClose.hasSubscribers;
}

const PUBLISHED = Symbol.for('sockclose.audit.published');

// Node's async_id_symbol, once a socket showed it: one symbol per process, which the scan of every
// socket's own symbols (~400 ns on an accepted socket's 14) found again at each publish.
let asyncIdSymbol: symbol | undefined;

/**
 * Which connection of `socket` this is: Node's async id of its handle (kept after the close, new at
 * each connect(), as Node lets a socket connect again after 'close'); `true` where there is none.
 */
function connectionOf(socket: object): unknown {
  const cached = asyncIdSymbol;
  if (cached !== undefined && Object.hasOwn(socket, cached)) return (socket as Record<symbol, unknown>)[cached];
  // Not seen yet, or not on this object: scan its own symbols, as before.
  const key = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'async_id_symbol');
  if (key === undefined) return true;
  asyncIdSymbol ??= key;
  return (socket as Record<symbol, unknown>)[key];
}

/**
 * Publishes an audited close on `sockclose:audit:close`: at the close, or, for a connection the
 * lingering close took over, once its linger's report said how it ended. Internal.
 */
export function publishAuditClose(message: AuditCloseMessage): void {
  if (!auditClose.hasSubscribers) return;
  // Once per close, however many audits recorded it (the preload's and the application's own
  // auditCloses(), even from two copies of sockclose: hence a registered symbol). Marked only here,
  // on a socket that is done, so that nothing is paid while nobody subscribes. Marked with its
  // connection, not `true`: a socket connected again after its close (and audited again) was
  // published once for good.
  const socket = message.socket as net.Socket & { [PUBLISHED]?: unknown };
  const connection = connectionOf(socket);
  if (socket[PUBLISHED] === connection) return;
  socket[PUBLISHED] = connection;
  auditClose.publish(message);
}
