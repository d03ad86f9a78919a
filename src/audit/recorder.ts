// The audit's machinery: a Recorder (counters and the ring of recent RST-with-data closes) and
// watchServer(), which points a server's connections at a recorder. auditCloses() gives each
// server its own recorder; the preload (sockclose/audit) shares one among every server.
import diagnosticsChannel from 'node:diagnostics_channel';
import http from 'node:http';
import net from 'node:net';
import { types } from 'node:util';

import { auditCloseSubscribed, ChannelNames, publishAuditClose, type LingerEndMessage } from '../diagnostics/channels.js';
import { otherManager } from '../lingering/claims.js';
import type { LingerReport } from '../lingering/types.js';
import { realSocket, type SocketInternals } from '../target.js';
import { servingServer, serverKind } from '../node-handle.js';
import { giveSocket, lookAtClosesOf, stopLookingAt, type CloseLook } from './close-look.js';
import { summarize } from './summary.js';
import type { AuditedClose, AuditedRequest, CloseAuditCounts } from './types.js';

const MAX_PATH = 200;
const SWEEP_FROM = 4096;

// The lingering close's reports, from its channel: whichever copy of sockclose runs the linger
// (it publishes right before the descriptor closes), the audit learns that it handled the close.
// Subscribed while any server is watched.
const lingerReports = new WeakMap<net.Socket, LingerReport>();
// A report that comes after the audit's look (a lingering close that takes the descriptor over
// from Node and closes it later) corrects the unread-input RST the look saw: the linger drains
// that input. Only such closes wait here, until their report or their socket's collection.
type Correction = (report: LingerReport) => void;
const corrections = new WeakMap<net.Socket, Correction[]>();
// A close waiting for a report that never comes (an unread-input RST no lingering close handled)
// stops holding the subscription once its socket is collected: else, after the audit stopped,
// every lingering close in the process would keep paying for a subscriber nobody needs.
// A close still waiting whose socket is collected without a report (a copy of sockclose that does
// not publish one): counted as the look saw it.
const forgotten = new FinalizationRegistry<(() => void)[]>((unreported) => {
  awaitingReports--;
  for (const settle of unreported) settle();
  release();
});
// For each socket awaiting a report, what to count if none ever comes (held by the registry, so
// these never reference the socket).
const unreportedOf = new WeakMap<net.Socket, (() => void)[]>();
const onLingerEnd = (message: unknown): void => {
  // Anyone can publish on a named channel (another copy of sockclose, or a stray publisher): a
  // message not shaped as ours is ignored, never thrown from inside the publisher's call.
  if (typeof message !== 'object' || message === null) return;
  const { report, socket } = message as Partial<LingerEndMessage>;
  if (typeof socket !== 'object' || socket === null || typeof report !== 'object' || report === null) return;
  lingerReports.set(socket, report);
  const pending = corrections.get(socket);
  if (pending === undefined) return;
  corrections.delete(socket);
  unreportedOf.delete(socket);
  forgotten.unregister(pending);
  awaitingReports--;
  for (const correct of pending) correct(report);
  release();
};
// Subscribed while a server is watched, or a recorded close still awaits its linger's report (an
// audit stopped meanwhile still corrects and publishes the closes it recorded).
let watching = 0;
let awaitingReports = 0;
let subscribed = false;

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  diagnosticsChannel.subscribe(ChannelNames.lingerEnd, onLingerEnd);
}

// Let go in a microtask, never synchronously: release() runs inside a publish on the very channel
// it leaves (onLingerEnd settling the last awaited report; a subscriber stopping an audit), and the
// diagnostics_channel of several Node versions (18.12, 18.20, 20.9, 22.11 among those tested; not
// 20.20, 22.23, 24, 26) removes a subscriber by splicing the array its publish() is iterating: the
// subscriber after ours would miss that message.
let releaseQueued = false;

function release(): void {
  if (!subscribed || watching > 0 || awaitingReports > 0 || releaseQueued) return;
  releaseQueued = true;
  queueMicrotask(() => {
    releaseQueued = false;
    if (!subscribed || watching > 0 || awaitingReports > 0) return;
    subscribed = false;
    diagnosticsChannel.unsubscribe(ChannelNames.lingerEnd, onLingerEnd);
  });
}

/** Counters and the ring of the latest RST-with-data closes. */
export class Recorder {
  private readonly counts: CloseAuditCounts = emptyCounts();
  private readonly ring: AuditedClose[] = [];
  private next = 0;
  // The close last recorded (its look, the same object for each server told of it): a socket
  // handed from one watched server to another reaches a recorder that watches both (the preload's,
  // shared by every server) once per server, and counts once.
  private lastLook: CloseLook | null = null;
  // Closes a lingering close took over and has not finished: the connection is still open, so
  // they are counted (and kept, and published) when the linger's report says how it ended, or,
  // for a process ending first, as the look saw them (settlePending()).
  private readonly pending = new Set<() => void>();

  constructor(readonly size: number) {}

  /**
   * Counts the closes still lingering as the look saw them: the process is ending, and its end
   * closes their descriptors (with RST where input waits unread). For the report at exit or at a
   * terminating signal.
   */
  settlePending(): void {
    for (const settle of [...this.pending]) settle();
  }

  /** Records one close (once, however many of the servers it watches the socket went through). */
  add(socket: SocketInternals, look: CloseLook, server: net.Server, response: http.ServerResponse | undefined): void {
    if (look === this.lastLook) return;
    this.lastLook = look;
    const report = lingerReports.get(socket) ?? null;
    const lostData = look.end === 'rst' && look.cause === 'unread' && socket.bytesWritten > 0;
    // Certainly lost: only what never left this host (the kernel's unsent bytes, Node's queue).
    // Bytes sent and not yet acknowledged may sit in the client's receive queue, readable before
    // it sees the reset: at risk (look.unacked, counted apart), never added here.
    const unreceived = (look.unsent ?? 0) + look.queued;
    // A connection the native lingerer took over ends as its report, later, says; so does an
    // unread-input close another copy of sockclose lingers (an application's own copy under
    // `sockclose audit`): its report comes after this look, whichever copy wraps _destroy first.
    // Neither has ended yet: counted, kept and published once the report says how it ended (until
    // then a report would count a connection still lingering as the RST the look saw).
    if (report === null && (look.handedOver || (look.cause === 'unread' && otherManager(socket) !== undefined))) {
      this.later(socket, look, server, response, lostData, unreceived);
      return;
    }
    this.addNow(socket, look, server, response, report, lostData, unreceived);
  }

  private addNow(
    socket: SocketInternals,
    look: CloseLook,
    server: net.Server,
    response: http.ServerResponse | undefined,
    report: LingerReport | null,
    lostData: boolean,
    unreceived: number,
  ): void {
    count(this.counts, look, report, lostData, unreceived, 1);
    const keep = lostData && this.size > 0;
    // The full record only where someone will read it.
    const close = keep || auditCloseSubscribed() ? record(socket, look, report, unreceived, lostData, response) : null;
    if (close && keep) this.keep(close);
    // An unread-input RST a report may still correct (a linger that drains that input).
    if (report === null && look.cause === 'unread') {
      awaitReport(socket, (late) => this.correct(look, late, lostData, unreceived, close), null);
    }
    if (close) publishAuditClose({ close, socket, server });
  }

  /** A close the lingering close took over: counted when its report comes (or the process ends first). */
  private later(
    socket: SocketInternals,
    look: CloseLook,
    server: net.Server,
    response: http.ServerResponse | undefined,
    lostData: boolean,
    unreceived: number,
  ): void {
    // What the look saw, for a process that ends before the linger does (its end closes the
    // descriptor: an RST where input waits unread). Built now: the socket is not kept for it.
    const asSeen = lostData && this.size > 0 ? record(socket, look, null, unreceived, lostData, response) : null;
    const settleAsSeen = this.asSeen(look, lostData, unreceived, asSeen);
    this.pending.add(settleAsSeen);
    awaitReport(
      socket,
      (report) => {
        if (!this.pending.delete(settleAsSeen)) return;
        if (report.reason === 'overload') {
          // No linger: the close was what the look saw.
          this.addNow(socket, look, server, response, report, lostData, unreceived);
          return;
        }
        const end = lingerEnd(look, report);
        // A bound ended the linger with input still unread: an RST, with the response at risk as
        // in any unread-input RST (the client may not have read it yet).
        const lost = end.cause === 'unread' && socket.bytesWritten > 0;
        count(this.counts, end, report, lost, 0, 1);
        const keep = lost && this.size > 0;
        if (!keep && !auditCloseSubscribed()) return;
        const close = record(socket, end, report, 0, lost, response);
        if (keep) this.keep(close);
        publishAuditClose({ close, socket, server });
      },
      settleAsSeen,
    );
  }

  /**
   * Counts a close as its look saw it, once, if it is still pending. Made apart from the socket's
   * scope: the finalization registry holds it, and a closure there that kept the socket (through a
   * shared scope) would keep it from ever being collected.
   */
  private asSeen(look: CloseLook, lostData: boolean, unreceived: number, close: AuditedClose | null): () => void {
    const settle = (): void => {
      if (!this.pending.delete(settle)) return;
      count(this.counts, look, null, lostData, unreceived, 1);
      if (close) this.keep(close);
    };
    return settle;
  }

  private keep(close: AuditedClose): void {
    if (this.ring.length < this.size) this.ring.push(close);
    else this.ring[this.next] = close;
    this.next = (this.next + 1) % this.size;
  }

  /** A lingering close handled a close counted as an unread-input RST: count it as the linger ended it. */
  private correct(look: CloseLook, report: LingerReport, lostData: boolean, unreceived: number, close: AuditedClose | null): void {
    if (report.reason === 'overload') {
      // No linger: the close was the RST the look saw.
      this.counts.lingerOverload += 1;
      if (close) close.lingered = { reason: report.reason, drainedBytes: report.drainedBytes, closedWith: report.closedWith };
      return;
    }
    count(this.counts, look, null, lostData, unreceived, -1);
    const end = lingerEnd(look, report);
    // Still an unread-input RST (a bound ended the linger with input unread): lost as before.
    const lost = end.cause === 'unread' && lostData;
    count(this.counts, end, report, lost, 0, 1);
    if (close) {
      // The linger held the descriptor until now (its report comes right as it closes): `at` is
      // the close, not the look at the linger's start. The look's state and byte counts describe
      // no close that happened: unknown (or none lost), as the counters count them.
      Object.assign(close, {
        at: Date.now(),
        end: end.end,
        cause: end.cause,
        state: end.state,
        unreadBytes: end.unread,
        unsentBytes: null,
        unackedBytes: null,
        unreceivedBytes: 0,
        remote: lost ? close.remote : null,
        lingered: { reason: report.reason, drainedBytes: report.drainedBytes, closedWith: report.closedWith },
      });
      if (lost) return;
      const kept = this.recent().filter((entry) => entry !== close);
      this.ring.splice(0, this.ring.length, ...kept);
      this.next = kept.length % Math.max(1, this.size);
    }
  }

  snapshot(): CloseAuditCounts {
    return { ...this.counts, ends: { ...this.counts.ends }, lingerUnreadResetReasons: { ...this.counts.lingerUnreadResetReasons } };
  }

  recent(): AuditedClose[] {
    const { ring, next } = this;
    return ring.length < this.size ? ring.slice() : [...ring.slice(next), ...ring.slice(0, next)];
  }

  summary(): string {
    return summarize(this.counts);
  }
}

/**
 * Calls `onReport` with the linger report `socket`'s close gets on `sockclose:linger:end`, if one
 * comes; `unreported` (which must not reference the socket), if its socket is collected first.
 */
function awaitReport(socket: net.Socket, onReport: Correction, unreported: (() => void) | null): void {
  let pending = corrections.get(socket);
  if (pending === undefined) {
    pending = [];
    const fallbacks: (() => void)[] = [];
    awaitingReports++;
    forgotten.register(socket, fallbacks, pending);
    corrections.set(socket, pending);
    unreportedOf.set(socket, fallbacks);
  }
  pending.push(onReport);
  if (unreported) unreportedOf.get(socket)!.push(unreported);
}

/**
 * How a linger ended the connection: a linger the connection's error ended (the peer reset it)
 * closed a connection that was already over, not cleanly; a reset (its timeout policy) is an RST
 * asked for, whatever the look saw when it took the connection over (a FIN close with nothing
 * unread too); else a FIN.
 */
function lingerEnd(look: CloseLook, report: LingerReport): CloseLook {
  // The look was taken when the linger began: the state and queues it saw are not the close's.
  const after: CloseLook = { ...look, state: null, unsent: null, unacked: null };
  if (report.reason === 'error') return { ...after, end: 'none', cause: null, unread: null };
  // An RST on input left unread (the kernel's answer to a plain close, or the timeout policy's
  // hitting a peer still sending): the response is at risk as in any unread-input RST.
  if (report.unreadBytes > 0) return { ...after, end: 'rst', cause: 'unread', unread: report.unreadBytes };
  // The policy's RST at an idle timeout: nothing was left unread to look at.
  if (report.closedWith === 'reset') return { ...after, end: 'rst', cause: 'abortive', unread: null };
  return { ...after, end: 'fin', cause: null, unread: 0 };
}

/** What watchServer() returns. */
export interface ServerWatch {
  stop(): void;
}

/** Records the close of every connection of `server` into `recorder`, from now on. */
export function watchServer(server: net.Server, recorder: Recorder): ServerWatch {
  let active = true;
  // The response last on each open http connection. A Map, emptied at each close (every close of
  // the server's sockets comes through onClose, and only those enter): a WeakMap would cost the
  // garbage collector work for each young socket it holds, which bench:audit's instruction count showed.
  const responses = new Map<net.Socket, http.ServerResponse>();
  const onClose = (socket: SocketInternals, look: CloseLook | null): void => {
    const response = responses.get(socket);
    if (response !== undefined) responses.delete(socket);
    if (active && look !== null) recorder.add(socket, look, server, response);
  };
  lookAtClosesOf(server, serverKind(server), onClose);
  // http and https servers (an https.Server is no http.Server, but has its methods).
  const isHttp = server instanceof http.Server || typeof (server as { closeIdleConnections?: unknown }).closeIdleConnections === 'function';
  let sweepAt = SWEEP_FROM;
  const onRequest = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    // http2's compatibility API (whose secure server has closeIdleConnections() from Node 20 on)
    // gives each request a Proxy of its own as `socket`: keyed by it, every response of a
    // long-lived session stayed in the map (the close comes for the session's socket, never for
    // a proxy). Keyed by the connection's own socket, as for http; a proxy that leads to none is skipped.
    let socket = request.socket;
    if (types.isProxy(socket)) {
      socket = realSocket(socket);
      if (types.isProxy(socket)) return;
    }
    // Only a connection whose close onClose will see: the server's own (http sets `socket.server`
    // on every connection it serves, given ones too), or one a request given to it came on (from
    // another server: then audited as given to this one too). Never a Duplex that is no net.Socket.
    const seen = servingServer(socket) === server ? socket instanceof net.Socket : giveSocket(socket, server);
    if (!seen) return;
    responses.set(socket, response);
    // A close the look never saw (a socket whose _destroy someone else replaced) leaves its
    // entry: swept, rarely, once the map has grown.
    if (responses.size >= sweepAt) {
      for (const socket of responses.keys()) if (socket.destroyed && !(socket as SocketInternals)._handle) responses.delete(socket);
      sweepAt = Math.max(SWEEP_FROM, responses.size * 2);
    }
  };
  if (isHttp) server.prependListener('request', onRequest);
  watching++;
  subscribe();
  return {
    stop: () => {
      if (!active) return;
      active = false;
      stopLookingAt(server, onClose);
      responses.clear();
      if (isHttp) server.off('request', onRequest);
      watching--;
      release();
    },
  };
}

function emptyCounts(): CloseAuditCounts {
  return {
    closed: 0,
    ends: { fin: 0, rst: 0, none: 0, unknown: 0 },
    unreadResets: 0,
    abortiveResets: 0,
    resetsWithData: 0,
    unreceivedBytes: 0,
    unackedBytes: 0,
    unreadBytes: 0,
    lingered: 0,
    lingerOverload: 0,
    lingerUnreadResets: 0,
    lingerUnreadResetReasons: { 'drain-limit': 0, 'max-timeout': 0, 'idle-timeout': 0, aborted: 0 },
    discardedWrites: 0,
    discardedBytes: 0,
  };
}

/** Adds (`sign` 1) or takes back (-1) one close. */
function count(counts: CloseAuditCounts, look: CloseLook, report: LingerReport | null, lostData: boolean, unreceived: number, sign: 1 | -1): void {
  counts.closed += sign;
  counts.ends[look.end] += sign;
  if (look.cause === 'unread') {
    counts.unreadResets += sign;
    counts.unreadBytes += sign * (look.unread ?? 0);
  } else if (look.cause === 'abortive') {
    counts.abortiveResets += sign;
  }
  if (lostData) {
    counts.resetsWithData += sign;
    counts.unreceivedBytes += sign * unreceived;
    counts.unackedBytes += sign * (look.unacked ?? 0);
  }
  if (report) {
    if (report.reason === 'overload') {
      counts.lingerOverload += sign;
    } else {
      counts.lingered += sign;
      if (look.cause === 'unread') {
        counts.lingerUnreadResets += sign;
        const reason = report.reason;
        if (reason === 'drain-limit' || reason === 'max-timeout' || reason === 'idle-timeout' || reason === 'aborted') {
          counts.lingerUnreadResetReasons[reason] += sign;
        }
      }
    }
  }
  if (look.queued > 0) {
    counts.discardedWrites += sign;
    counts.discardedBytes += sign * look.queued;
  }
}

function record(
  socket: SocketInternals,
  look: CloseLook,
  report: LingerReport | null,
  unreceived: number,
  lostData: boolean,
  response: http.ServerResponse | undefined,
): AuditedClose {
  return {
    at: Date.now(),
    end: look.end,
    cause: look.cause,
    state: look.state,
    unreadBytes: look.unread,
    unsentBytes: look.unsent,
    unackedBytes: look.unacked,
    queuedBytes: look.queued,
    unreceivedBytes: unreceived,
    bytesRead: socket.bytesRead,
    bytesWritten: socket.bytesWritten,
    remote: lostData ? remoteOf(socket) : null,
    lingered: report ? { reason: report.reason, drainedBytes: report.drainedBytes, closedWith: report.closedWith } : null,
    request: response ? requestOf(response) : null,
    // An AuditedClose variant (types.ts): look() gives a cause and the queues only to an RST, and
    // an 'unknown' end only before its probe (state, unread: null); `remote` needs lostData (an RST).
  } as AuditedClose;
}

function remoteOf(socket: net.Socket): string | null {
  try {
    const address = socket.remoteAddress;
    if (!address) return null;
    return socket.remoteFamily === 'IPv6' ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
  } catch {
    return null;
  }
}

function requestOf(response: http.ServerResponse): AuditedRequest | null {
  const request = (response as http.ServerResponse & { req?: http.IncomingMessage }).req;
  if (!request) return null;
  const url = request.url ?? '';
  const query = url.indexOf('?');
  return {
    method: request.method ?? '',
    path: (query === -1 ? url : url.slice(0, query)).slice(0, MAX_PATH),
    status: headSent(response) ? response.statusCode : null,
  };
}

/**
 * Whether the response's head went to the socket. `headersSent` turns true at writeHead(), before
 * anything is written; Node sets `_headerSent` when the head goes out with the first body bytes
 * (or end()), and keeps a pipelined response's output in `outputData` until the responses before
 * it are done (Node 18 to 26 alike). Where those fields are missing, `headersSent` decides.
 */
function headSent(response: http.ServerResponse): boolean {
  const internals = response as http.ServerResponse & { _headerSent?: unknown; outputData?: unknown };
  if (typeof internals._headerSent !== 'boolean') return response.headersSent;
  return internals._headerSent && !(Array.isArray(internals.outputData) && internals.outputData.length > 0);
}
