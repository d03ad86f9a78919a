// Turns a public `target` argument into a descriptor, at the moment of the call. This is the one
// module that knows Node's private handle layout (`socket._handle`, TLSWrap's `_parent`, the http2
// socket proxy); everything else asks here.
//
// The descriptor is read from the live libuv handle every time and never kept across an await: once
// Node closes a handle its number can be reused by any other socket or file.
import net from 'node:net';
import { types } from 'node:util';

import { closedSocket, invalidArgType, noFd, notTcp, outOfRange, systemError, unsupported } from './errors.js';
import { binding, record, unavailableReason } from './native/binding.js';
import { Family, Field, Slot, SocketType } from './native/layout.js';
import { currentPlatform, type Transport } from './platform/index.js';

/** What sockclose accepts as a target: a Node socket (TLS, https, http2 included) or a raw fd. */
export type SocketTarget = net.Socket | number;

/** The libuv handle fields sockclose reads (TCP, Pipe, TLSWrap). */
export interface NodeHandle {
  readonly fd: number;
  readonly bytesRead?: number;
  readonly writeQueueSize?: number;
  readonly _parent?: NodeHandle;
  readonly constructor: { readonly name: string };
}

/** A Node socket whose private fields sockclose reads. */
export type SocketInternals = net.Socket & {
  _handle: NodeHandle | null;
  connecting: boolean;
};

interface ResolvedBase {
  readonly fd: number;
  readonly transport: Transport;
}

/** A target resolved to a live descriptor. */
export type Resolved =
  | (ResolvedBase & { readonly kind: 'socket'; readonly socket: SocketInternals; readonly handle: NodeHandle })
  | (ResolvedBase & { readonly kind: 'fd'; readonly listening: boolean });

type Caller = (...args: never[]) => unknown;

const TARGET_TYPES = 'an instance of net.Socket or of type number';
const MAX_FD = 2 ** 31 - 1;

/** Throws unless `value` is a socket or a valid descriptor number. */
export function checkTarget(value: unknown, caller: Caller): asserts value is SocketTarget {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > MAX_FD) {
      throw outOfRange('target', `an integer >= 0 and <= ${MAX_FD}`, value, caller);
    }
    return;
  }
  if (!(value instanceof net.Socket)) throw invalidArgType('target', TARGET_TYPES, value, caller);
}

/**
 * The Node socket behind `target`. http2 hands out a Proxy that forwards reads to the real socket
 * but refuses destroy(); its handle's owner is the real socket.
 */
export function realSocket(target: net.Socket): SocketInternals {
  if (!types.isProxy(target)) return target as SocketInternals;
  const handle = (target as SocketInternals)._handle;
  if (handle) {
    const owner = Object.getOwnPropertySymbols(handle).find((symbol) => symbol.description === 'owner_symbol');
    const socket = owner ? (handle as unknown as Record<symbol, unknown>)[owner] : undefined;
    if (socket instanceof net.Socket && !types.isProxy(socket)) return socket as SocketInternals;
  }
  return target as SocketInternals;
}

/** TCP or AF_UNIX for a Node handle, looking through TLS to the transport below it. */
function handleTransport(handle: NodeHandle, caller: Caller): Transport {
  const transport = handle.constructor.name === 'TLSWrap' ? handle._parent : handle;
  switch (transport?.constructor.name) {
    case 'TCP':
      return 'tcp';
    case 'Pipe':
      return 'unix';
    default:
      throw noFd(`its transport is a ${transport?.constructor.name ?? 'missing'} handle, not a socket (TLS over a JavaScript stream?)`, caller);
  }
}

/** The live handle of a socket, or the reason there is none. */
export function liveHandle(socket: SocketInternals, caller: Caller): NodeHandle {
  const handle = socket._handle;
  if (handle) return handle;
  if (socket.destroyed) throw closedSocket(caller);
  throw noFd(socket.connecting ? 'still connecting: no handle yet' : 'not connected', caller);
}

/**
 * Resolves `target` for an operation. `needsTcp`: only TCP makes sense (AF_UNIX has no RST and no
 * linger). Raw descriptors cost one probe (SO_DOMAIN, SO_TYPE, SO_ACCEPTCONN on Linux) to learn
 * what they are; sockets are told apart by their handle class, at no cost.
 */
export function resolve(target: unknown, caller: Caller, needsTcp: boolean): Resolved {
  checkTarget(target, caller);
  if (typeof target === 'number') return resolveFd(target, caller, needsTcp);

  const socket = realSocket(target);
  if (socket.destroyed) throw closedSocket(caller);
  const platform = currentPlatform();
  if (!platform.hasDescriptors) throw unsupported(platform.noDescriptorsReason!, caller);
  const handle = liveHandle(socket, caller);
  const transport = handleTransport(handle, caller);
  if (needsTcp && transport !== 'tcp') throw notTcp('this is an AF_UNIX socket, which has no RST and ignores SO_LINGER', caller);
  const fd = handle.fd;
  if (!(fd >= 0)) throw noFd(socket.connecting ? 'still connecting: try after the "connect" event' : `handle.fd is ${fd}`, caller);
  return { kind: 'socket', socket, handle, fd, transport };
}

function resolveFd(fd: number, caller: Caller, needsTcp: boolean): Resolved {
  probe(fd, Field.describe, caller);
  const family = record[Slot.family]!;
  const type = record[Slot.type]!;
  const listening = record[Slot.listening] === 1;
  if (type !== SocketType.stream) {
    throw notTcp(`descriptor ${fd} is a ${type === SocketType.dgram ? 'datagram (UDP?)' : 'non-stream'} socket`, caller);
  }
  if (family === Family.other) throw notTcp(`descriptor ${fd} is neither TCP nor AF_UNIX`, caller);
  // An unknown family on a stream socket is AIX's error state (getsockname() fails): still TCP.
  const transport: Transport = family === Family.unix ? 'unix' : 'tcp';
  if (needsTcp && transport !== 'tcp') throw notTcp(`descriptor ${fd} is an AF_UNIX socket, which has no RST and ignores SO_LINGER`, caller);
  return { kind: 'fd', fd, transport, listening };
}

/** ERR_SOCKCLOSE_UNSUPPORTED for "the native binary is not available", naming why. */
export function unsupportedNative(caller: Caller) {
  const reason = unavailableReason() ?? 'unknown reason';
  return unsupported(`it needs sockclose's native binary, which is unavailable: ${reason}`, caller);
}

/** The native binding, or ERR_SOCKCLOSE_UNSUPPORTED. */
export function requireNative(caller: Caller) {
  const native = binding();
  if (!native) throw unsupportedNative(caller);
  return native;
}

/**
 * Fills the probe record for `fd` or throws the system error. Every probe starts with a getsockopt
 * (native/sys_posix.cc makes sure), which is what fails on a bad or non-socket descriptor.
 */
export function probe(fd: number, fields: number, caller: Caller): Float64Array {
  const result = requireNative(caller).probe(fd, fields);
  if (result < 0) throw systemError(result, 'getsockopt', caller);
  return record;
}

/** Bytes the TCP handle under a socket has read (for peek's FIN accounting), or null. */
export function tcpBytesRead(handle: NodeHandle): number | null {
  const tcp = handle.constructor.name === 'TLSWrap' ? handle._parent : handle;
  return tcp && tcp.constructor.name === 'TCP' && typeof tcp.bytesRead === 'number' ? tcp.bytesRead : null;
}
