// The audit's one look at a connection: right before Node closes its handle, with the descriptor
// still open, ask the kernel how the close will end it (one probe: state, queues, SO_LINGER).
//
// Every net.Socket close ends in `_destroy()`, which src/close-hook.ts wraps once on the prototype;
// the audit is one of its lookers, called after every step (the lingering close's decision
// included), right before the real close. A closing socket is audited by each audited server it
// went through: the one that accepted it (`socket._server`, or for a TLSSocket the tls.Server that
// made it), the one it is served by (`socket.server`: Node's accept sets it, and http sets it to
// its own on every socket it is given), and any plain net server it was given to
// (`server.emit('connection', socket)`, which sets nothing: marked on the socket, markGiven()). For
// TLS servers only the TLSSocket is audited, not the raw socket under it. An accepted socket nobody
// gave away costs two property reads at its close, and nothing is kept for it. The look only
// reads: it never changes how, or when, a socket closes.
import net from 'node:net';

import { addCloseLooker } from '../close-hook.js';
import { binding, record } from '../native/binding.js';
import { Field, known, Slot, State, TCP_STATES, type TcpStateName } from '../native/layout.js';
import {
  acceptingServer,
  givenTo,
  markGiven,
  nodeResetInProgress,
  servingServer,
  transportBytesRead,
  transportHandle,
  transportKind,
  unwrittenBytes,
  type NodeHandle,
  type ServerKind,
  type SocketInternals,
} from '../node-handle.js';
import { platform } from '../platform/index.js';
import { resetAfterPeerFin } from '../inspect-socket.js';
import type { AuditedEnd } from './types.js';

/** What the kernel said at the close. */
export interface CloseLook {
  end: AuditedEnd;
  /** The lingering close took the connection over: its end is the linger's report, later. */
  handedOver: boolean;
  cause: 'unread' | 'abortive' | null;
  state: TcpStateName | null;
  unread: number | null;
  /** Never transmitted (the kernel's unsent count): an RST makes these certainly lost. */
  unsent: number | null;
  /**
   * Transmitted, not acknowledged (or, where the split is unknown, the whole send queue): the
   * client's kernel may already hold them (its ACK in flight or delayed), so only at risk.
   */
  unacked: number | null;
  /** What Node still held for writing: never reached the kernel, certainly lost. */
  queued: number;
}

/**
 * Told of each audited socket's close, before its handle closes (`look` null: the socket had no
 * handle left to ask). Must not throw (it is guarded anyway).
 */
export type CloseListener = (socket: SocketInternals, look: CloseLook | null) => void;

interface Watched {
  listener: CloseListener;
  /** A TLS server: its TLSSockets are audited, not the raw sockets under them. */
  tls: boolean;
  /** A net server's 'connection' listener, which finds the sockets it is given. */
  onConnection: ((socket: net.Socket) => void) | null;
}

const watchedServers = new WeakMap<net.Server, Watched>();
let installed = false;

/**
 * Calls `listener` at the close of every socket `server` accepted or is given. A server two audits
 * watch (the preload's and the application's own) has both called, with the same look.
 */
export function lookAtClosesOf(server: net.Server, kind: ServerKind, listener: CloseListener): void {
  installCloseLook();
  const existing = watchedServers.get(server);
  if (existing !== undefined) {
    if (existing.listener !== listener) existing.listener = both(existing.listener, listener);
    return;
  }
  // Only a plain net server needs to be told of the sockets it is given: http and TLS servers set
  // `socket.server` themselves (an http server's accepted sockets pay nothing for it).
  const onConnection = kind === 'net' ? (socket: net.Socket) => void (servingServer(socket) !== server && giveSocket(socket, server)) : null;
  // First, before a listener of the application's can close the socket. An accepted socket pays
  // one call and one comparison.
  if (onConnection) server.prependListener('connection', onConnection);
  watchedServers.set(server, { listener, tls: kind === 'tls', onConnection });
}

/** Stops calling `listener` for `server`'s sockets. */
export function stopLookingAt(server: net.Server, listener: CloseListener): void {
  const existing = watchedServers.get(server);
  if (existing === undefined) return;
  const parts = ((existing.listener as Partial<Both>).parts ?? [existing.listener]).filter((part) => part !== listener);
  if (parts.length > 0) {
    existing.listener = parts.length === 1 ? parts[0]! : parts.slice(1).reduce<CloseListener>((all, part) => both(all, part), parts[0]!);
    return;
  }
  watchedServers.delete(server);
  if (existing.onConnection) server.off('connection', existing.onConnection);
}

/**
 * Has the close of `socket`, which the watched `server` was given but did not accept, looked at for
 * `server` too (as well as for the servers it had). Returns whether it will be: not for a stream
 * that is no net.Socket (http serves any Duplex; only a net.Socket's close is looked at), a socket
 * already destroyed (its close may be past), nor a raw socket given to a TLS server.
 */
export function giveSocket(socket: net.Socket, server: net.Server): boolean {
  const watched = watchedServers.get(server);
  if (watched === undefined || !(socket instanceof net.Socket) || socket.destroyed || !audits(watched, socket)) return false;
  markGiven(socket, server);
  return true;
}

/** Whether `watched` audits `socket` (a TLS server: only its TLSSockets). */
function audits(watched: Watched, socket: net.Socket): boolean {
  return !watched.tls || (socket as { encrypted?: boolean }).encrypted === true;
}

type Both = CloseListener & { parts: CloseListener[] };

function both(first: CloseListener, second: CloseListener): Both {
  const parts = [...((first as Partial<Both>).parts ?? [first]), second];
  const combined = ((socket: SocketInternals, look: CloseLook | null) => {
    for (const part of parts) part(socket, look);
  }) as Both;
  combined.parts = parts;
  return combined;
}

/** Starts looking at closes (once). */
export function installCloseLook(): void {
  if (installed) return;
  installed = true;
  addCloseLooker(lookAtClose);
}

function lookAtClose(socket: SocketInternals, handle: NodeHandle | null, handedOver: boolean): void {
  const listener = listenerFor(socket, handle);
  if (listener === undefined) return;
  try {
    listener(socket, handle ? look(socket, handle, handedOver) : null);
  } catch (failure) {
    // An audit must never keep a socket from closing.
    process.emitWarning(failure as Error, { code: 'SOCKCLOSE_AUDIT' });
  }
}

// A raw socket under a TLSSocket whose close was looked at (for the servers of both): its own
// close, on the same descriptor, is the same connection's and is not looked at again.
const kUnderTls = Symbol('sockclose.audit.underTls');
type RawSocket = net.Socket & { [kUnderTls]?: true };
let anyUnderTls = false;

/**
 * The net.Socket a TLSSocket was made over (its TLSWrap's `_parentWrap`, Node 18 to 26), or null:
 * a TLS server given a raw socket that a plain net server accepted (or was given) terminates TLS
 * for that server's connection, which the raw socket's servers audit too.
 */
function rawSocketUnder(socket: net.Socket, handle: NodeHandle | null): RawSocket | null {
  if ((socket as { encrypted?: boolean }).encrypted !== true || handle === null) return null;
  const raw = (handle as NodeHandle & { _parentWrap?: unknown })._parentWrap;
  return raw instanceof net.Socket && raw !== socket ? raw : null;
}

/** Who is told of `socket`'s close: the watchers of every watched server it went through. */
function listenerFor(socket: SocketInternals, handle: NodeHandle | null): CloseListener | undefined {
  if (anyUnderTls && (socket as RawSocket)[kUnderTls] === true) return undefined;
  const server = servingServer(socket);
  const accepted = acceptingServer(socket);
  const owners = givenTo(socket);
  const raw = rawSocketUnder(socket, handle);
  // The usual socket: its server accepted it and gave it to nobody. One lookup, nothing allocated.
  if (raw === null && owners === undefined && (accepted === null || accepted === server)) {
    const watched = server ? watchedServers.get(server) : undefined;
    return watched !== undefined && audits(watched, socket) ? watched.listener : undefined;
  }
  // The last server given the socket first: the one serving it (http: its request is on record,
  // and it is the server a recorder watching several records it as, and the channel publishes).
  const servers = owners ? owners.slice().reverse() : [];
  for (const owner of [server, accepted]) if (owner && !servers.includes(owner)) servers.push(owner);
  // A TLSSocket over a raw socket: then the raw socket's servers (a net server in front of the
  // TLS one), the connection recorded once for each, as its TLSSocket. Unless the raw socket was
  // destroyed first (the application ended the connection under TLS): its own close, which closed
  // the descriptor, was its servers' record of the connection already.
  if (raw !== null && !raw.destroyed) {
    const rawOwners = givenTo(raw);
    const under = [...(rawOwners ? rawOwners.slice().reverse() : []), servingServer(raw), acceptingServer(raw)];
    for (const owner of under) if (owner && !servers.includes(owner)) servers.push(owner);
  }
  let listener: CloseListener | undefined;
  for (const owner of servers) {
    const watched = watchedServers.get(owner);
    if (watched !== undefined && audits(watched, socket)) listener = listener ? both(listener, watched.listener) : watched.listener;
  }
  if (listener !== undefined && raw !== null) {
    anyUnderTls = true;
    raw[kUnderTls] = true;
  }
  return listener;
}

const UNKNOWN_STATE = -1;
// States in which our FIN is queued or sent and not yet acknowledged (FIN_WAIT2: acknowledged).
const FIN_QUEUED = new Set<number>([State.FIN_WAIT1, State.CLOSING, State.LAST_ACK]);

function queues(result: CloseLook, state: number, countsFin: boolean): void {
  result.unsent = known(record[Slot.unsent]);
  result.unacked = known(record[Slot.unacked]);
  // Where the split is unknown (the BSDs, macOS), the whole send queue is unsent + unacknowledged:
  // part of it may have reached the client's kernel, so none of it is certainly lost. It is given
  // as the at-risk figure (unacked), never as the certain one (unsent).
  if (result.unsent === null && result.unacked === null) result.unacked = known(record[Slot.sendQueue]);
  else if (countsFin && FIN_QUEUED.has(state)) dropFin(result);
}

/**
 * Linux's queue ioctls count sequence space, where a FIN takes one: our FIN sits last, in the
 * unsent part while data is still queued before it, else in the unacknowledged part.
 */
function dropFin(result: CloseLook): void {
  if (result.unsent !== null && result.unsent > 0) result.unsent -= 1;
  else if (result.unacked !== null && result.unacked > 0) result.unacked -= 1;
}

/** One probe of the live descriptor; never throws. */
export function look(socket: SocketInternals, handle: NodeHandle, handedOver = false): CloseLook {
  const queued = unwrittenBytes(socket, handle);
  const result: CloseLook = { end: 'unknown', handedOver, cause: null, state: null, unread: null, unsent: null, unacked: null, queued };
  const native = binding();
  const transport = transportKind(handle);
  const rules = platform();
  const fd = transportHandle(handle)?.fd ?? -1;
  if (!native || transport === null || !(fd >= 0) || rules.closeWouldResetFields === 0) return result;
  if (native.probe(fd, rules.closeWouldResetFields | Field.tcp | Field.linger) < 0) return result;

  const state = transport === 'tcp' ? rules.tcpState(record, transport) : UNKNOWN_STATE;
  // Node's resetAndDestroy(): its _destroy() sets SO_LINGER {1, 0} (libuv's uv_tcp_close_reset)
  // only after this look, and closes. Judged as that linger makes the close. Not after end():
  // libuv refuses the reset once a shutdown is pending.
  if (transport === 'tcp' && nodeResetInProgress(socket) && !socket.writableEnded) {
    record[Slot.lingerEnabled] = 1;
    record[Slot.lingerSeconds] = 0;
  }
  result.state = state > 0 && state < TCP_STATES.length ? (TCP_STATES[state] as TcpStateName) : null;
  result.unread = known(record[Slot.unread]);
  if (rules.closeWouldReset(record, transport)) {
    result.end = 'rst';
    result.cause = record[Slot.lingerEnabled] === 1 && record[Slot.lingerSeconds] === 0 ? 'abortive' : 'unread';
    // Only an RST loses what is still queued: the queues are asked for then only (two ioctls
    // fewer on every clean close).
    if (native.probe(fd, Field.queues) >= 0) queues(result, state, rules.sendQueueCountsFin);
  } else if (transport === 'tcp' && state === State.CLOSE) {
    // Over before this close: both FINs exchanged (a clean end), or the peer reset it (before its
    // FIN, or after it: a write of ours to a peer that had closed, which Node's 400 after a
    // failed parse is).
    result.end = rules.peerFinReceived(record, () => transportBytesRead(handle)) === true && !resetAfterPeerFin(fd) ? 'fin' : 'none';
  } else {
    result.end = 'fin';
  }
  return result;
}
