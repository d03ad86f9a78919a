// Turns a public `target` argument into a descriptor, at the moment of the call, on top of
// node-handle.ts (the one module that knows Node's private handle layout); everything else that
// needs a descriptor asks here.
//
// The descriptor is read from the live libuv handle (the fast path keeps it on the handle itself,
// used only while that handle is the live socket's: see liveTcpFd) and never kept across an await:
// once Node closes a handle its number can be reused by any other socket or file.
import net from 'node:net';
import { types } from 'node:util';

import {
  closedSocket,
  invalidArgType,
  NO_HANDLE,
  noFd,
  noListener,
  notASocketHandle,
  notTcp,
  outOfRange,
  systemError,
  unsupported,
  type Caller,
} from './errors.js';
import { binding, record, unavailableReason } from './native/binding.js';
import { Family, Field, Slot, SocketType } from './native/layout.js';
import type { Transport } from './platform/behaviour.js';
import { isTcpHandle, kindOf, transportHandle, transportKind, type NodeHandle, type SocketInternals } from './node-handle.js';
import { currentPlatform } from './platform/detect.js';

export type { NodeHandle, SocketInternals } from './node-handle.js';

/** What sockclose accepts as a target: a Node socket (TLS, https, http2 included) or a raw fd. */
export type SocketTarget = net.Socket | number;

interface ResolvedBase {
  readonly fd: number;
  readonly transport: Transport;
}

/** A target resolved to a live descriptor. */
export type Resolved =
  | (ResolvedBase & { readonly kind: 'socket'; readonly socket: SocketInternals; readonly handle: NodeHandle })
  | (ResolvedBase & { readonly kind: 'fd'; readonly listening: boolean });

const TARGET_TYPES = 'an instance of net.Socket or of type number';
const MAX_FD = 2 ** 31 - 1;

/** Whether `fd` is a number a descriptor can have. */
function isDescriptor(fd: unknown): fd is number {
  return Number.isInteger(fd) && (fd as number) >= 0 && (fd as number) <= MAX_FD;
}

/** Throws unless `value` is a socket or a valid descriptor number. */
export function checkTarget(value: unknown, caller: Caller, needs: Needs = 'stream'): asserts value is SocketTarget {
  if (typeof value === 'number') {
    if (!isDescriptor(value)) throw outOfRange('target', `an integer >= 0 and <= ${MAX_FD}`, value, caller);
    return;
  }
  // A closed http2 session's socket proxy is a socket, a closed one (its resolution says so).
  if (socketKind(value) !== 'other') return;
  throw notASocket(value, 'target', TARGET_TYPES, caller, needs);
}

/**
 * Whether `value` is a net.Socket: `'socket'`; `'unbound'` for http2's socket proxy once its
 * session closed (a socket, closed: every read of it throws, `instanceof` included); `'other'`
 * for anything else, a Proxy whose traps throw (a revoked one) included.
 */
export function socketKind(value: unknown): 'socket' | 'unbound' | 'other' {
  try {
    return value instanceof net.Socket ? 'socket' : 'other';
  } catch (error) {
    if (unboundHttp2Proxy(value, error)) return 'unbound';
    if (types.isProxy(value)) return 'other';
    throw error;
  }
}

/**
 * Whether `error`, thrown by reading `value`, is http2's "socket unbound": once its session has
 * closed, the proxy `session.socket` throws ERR_HTTP2_SOCKET_UNBOUND on every read, its prototype
 * (so `instanceof`) included. Such a socket counts as destroyed: ERR_SOCKCLOSE_CLOSED.
 */
function unboundHttp2Proxy(value: unknown, error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_HTTP2_SOCKET_UNBOUND' && types.isProxy(value);
}

/**
 * `socket.destroyed` for a target {@link checkTarget} accepted: true for the proxy of a closed
 * http2 session too, whose reads all throw.
 */
export function isDestroyed(socket: net.Socket): boolean {
  try {
    return socket.destroyed;
  } catch (error) {
    if (unboundHttp2Proxy(socket, error)) return true;
    throw error;
  }
}

/**
 * The error for an argument that is not a net.Socket: ERR_SOCKCLOSE_NOT_TCP for a dgram.Socket,
 * said plainly, as for a UDP descriptor ("an instance of net.Socket … Received an instance of
 * Socket" misleads), else ERR_INVALID_ARG_TYPE. node:dgram is loaded only here, on the error path.
 */
export function notASocket(value: unknown, name: string, expected: string, caller: Caller, needs: Needs = 'stream') {
  const dgram = require('node:dgram') as typeof import('node:dgram');
  // (A revoked Proxy throws at instanceof: it is no dgram.Socket either.)
  if (!types.isProxy(value) && value instanceof dgram.Socket) return notTcp(needs, 'this is a dgram.Socket (UDP)', caller);
  return invalidArgType(name, expected, value, caller);
}

/**
 * The Node socket behind `target`. http2 hands out a Proxy that forwards reads to the real socket
 * but refuses destroy(); its handle's owner is the real socket.
 */
export function realSocket(target: net.Socket): SocketInternals {
  if (!types.isProxy(target)) return target as SocketInternals;
  let handle: NodeHandle | null;
  try {
    handle = (target as SocketInternals)._handle;
  } catch (error) {
    // Its session closed: the proxy itself, which isDestroyed() then reports as destroyed.
    if (unboundHttp2Proxy(target, error)) return target as SocketInternals;
    throw error;
  }
  if (handle) {
    const owner = Object.getOwnPropertySymbols(handle).find((symbol) => symbol.description === 'owner_symbol');
    const socket = owner ? (handle as unknown as Record<symbol, unknown>)[owner] : undefined;
    if (socket instanceof net.Socket && !types.isProxy(socket)) return socket as SocketInternals;
  }
  return target as SocketInternals;
}

/**
 * TCP or AF_UNIX for a Node handle, looking through TLS to the transport below it; throws
 * ERR_SOCKCLOSE_NO_FD when there is no socket below (TLS over a JavaScript stream; a TTY), naming
 * what is there instead.
 */
export function handleTransport(handle: NodeHandle, caller: Caller): Transport {
  const kind = transportKind(handle);
  if (kind) return kind;
  const transport = transportHandle(handle);
  const name = transport?.constructor.name ?? 'missing';
  // A TTY (tty.ReadStream / tty.WriteStream: process.stdout on a terminal) is a net.Socket too.
  if (name === 'TTY') {
    throw kindOf(handle) === 'tls'
      ? noFd('its transport is a TTY (a terminal), not a socket', caller)
      : notASocketHandle('a TTY (a terminal: a tty.ReadStream or tty.WriteStream, as process.stdout is on one)', caller);
  }
  if (name === 'JSStream') throw noFd('its transport is a JSStream handle, not a socket: TLS over a JavaScript stream', caller);
  throw noFd(`its transport is a ${name} handle, not a socket`, caller);
}

/** The live handle of a socket, or the reason there is none. */
function liveHandle(socket: SocketInternals, caller: Caller): NodeHandle {
  const handle = socket._handle;
  if (handle) return handle;
  if (socket.destroyed) throw closedSocket(caller);
  throw noHandle(socket, caller);
}

/** ERR_SOCKCLOSE_NO_FD for a socket without a handle: still connecting, or none at all (NO_HANDLE). */
export function noHandle(socket: SocketInternals, caller: Caller) {
  return noFd(socket.connecting ? 'still connecting: no handle yet' : NO_HANDLE, caller);
}

/** What an operation accepts: TCP only (RST, linger), or any stream socket (TCP or AF_UNIX). */
export type Needs = 'tcp' | 'stream';

/**
 * Resolves `target` for an operation. Sockets are told apart by their handle class, at no syscall
 * cost. A raw descriptor costs one probe, which learns what it is (SO_DOMAIN, SO_TYPE,
 * SO_ACCEPTCONN on Linux) and gathers the operation's own `fields` in the same call: the record
 * then holds them ({@link probeResolved} does not probe again).
 */
export function resolve(target: unknown, caller: Caller, needs: Needs, fields = 0): Resolved {
  checkTarget(target, caller, needs);
  if (typeof target === 'number') return resolveFd(target, caller, needs, fields);
  // No realSocket() here: http2's proxy forwards every read used below. Only destroy() and end()
  // need the real socket.
  return resolveSocket(target as SocketInternals, caller, needs);
}

/** {@link resolve} for a socket already checked to be one. */
export function resolveSocket(socket: SocketInternals, caller: Caller, needs: Needs): Resolved {
  if (isDestroyed(socket)) throw closedSocket(caller);
  const platform = currentPlatform();
  if (!platform.hasDescriptors) throw unsupported(platform.noDescriptorsReason!, caller);
  const handle = liveHandle(socket, caller);
  const transport = handleTransport(handle, caller);
  if (needs === 'tcp' && transport !== 'tcp') throw notTcp('tcp', 'this is an AF_UNIX socket or a pipe (a Node Pipe handle), which has no RST and no linger', caller);
  const fd = handle.fd;
  // Checked whole, not just `>= 0`: a descriptor handed on (socketFd(), a syscall) must be one.
  if (!isDescriptor(fd)) throw noFd(socket.connecting ? 'still connecting: try after the "connect" event' : `handle.fd is ${String(fd)}`, caller);
  return { kind: 'socket', socket, handle, fd, transport };
}

/** A net.Server whose private fields sockclose reads: its listening handle, null while it does not listen. */
type ServerInternals = net.Server & { _handle: NodeHandle | null };

/**
 * The listening descriptor of a `net.Server` (tls, http, https servers included), read once from
 * its handle at the call, and its transport. Throws ERR_SOCKCLOSE_NO_FD when the server holds no
 * listening socket of its own: not listening (never, not yet, or closed: Node sets `_handle` to
 * null as it closes it), or a cluster worker's, whose listener is the primary's (see
 * {@link clusterListener}); ERR_SOCKCLOSE_UNSUPPORTED on Windows, as for a socket.
 */
export function resolveListeningServer(server: net.Server, caller: Caller): { fd: number; transport: Transport } {
  const handle = (server as ServerInternals)._handle;
  if (!handle) throw noListener('not listening: never listened, its address still being looked up, or closed', caller);
  const platform = currentPlatform();
  if (!platform.hasDescriptors) throw unsupported(platform.noDescriptorsReason!, caller);
  const shared = clusterListener(handle);
  if (shared !== null) throw noListener(shared, caller);
  const transport = handleTransport(handle, caller);
  const fd = handle.fd;
  if (!isDescriptor(fd)) throw noListener(`handle.fd is ${String(fd)}`, caller);
  return { fd, transport };
}

/**
 * Why a cluster worker's server has no listener of its own, or null for any other server. A
 * worker's `listen()` (without `exclusive`) asks the primary (Node's lib/internal/cluster/child.js,
 * Node 18 to 26), whose answer gives the server a handle with its own `close` (to tell the primary):
 * round-robin (SCHED_RR, the default but on Windows), a plain object and no descriptor, the primary
 * accepting every connection; SCHED_NONE, a copy of the primary's listening descriptor, so closing
 * this server closes only the copy. Either way the primary closes the listener (failing its queue)
 * once no worker's server uses it, which this worker cannot see: no verdict from here is right.
 * node:cluster is loaded only for a handle with its own `close`.
 */
function clusterListener(handle: NodeHandle): string | null {
  if (!Object.prototype.hasOwnProperty.call(handle, 'close')) return null;
  const cluster = require('node:cluster') as import('node:cluster').Cluster;
  if (!cluster.isWorker) return null;
  return transportKind(handle) === null
    ? "a cluster worker's server in round-robin mode (SCHED_RR): the primary holds the listener and accepts its connections"
    : "a cluster worker's server sharing the primary's listener (SCHED_NONE): the primary holds it, and closing this server closes only this worker's copy of the descriptor";
}

// A constant the optimiser can see through: `instanceof net.Socket` (two property loads first)
// measured ~100 instructions under callgrind, `instanceof Socket` ~6.
const Socket = net.Socket;

// The descriptor each plain TCP handle had when the fast path first read it: Node's `handle.fd`
// accessor is a C++ call (~160 instructions under callgrind, a quarter of getLinger()), a property
// keyed by this symbol one load. Why it is safe (test/core/fd-cache.test.ts checks each point):
// - Keyed by handle identity, so a socket that gets a new handle (connect() again after destroy)
//   never sees the old number.
// - A libuv TCP handle's descriptor is fixed from the moment it has one until uv_close(). Kept only
//   once the socket is connected: while connecting, a handle may have no descriptor yet, and
//   autoSelectFamily closes one attempt's handle and swaps in the next.
// - Read only after the checks that the handle is still the socket's `_handle` and the socket is
//   not destroyed: Node clears `_handle` (or sets `destroyed`) before it closes a connected
//   socket's handle (destroy(), resetAndDestroy(), a handle sent to another process), and a TLS
//   socket wrapping a plain one destroys the plain one as it closes their shared TCP handle (every
//   ending, Node 18 to 26: test/compat/fd-cache.compat.mjs). A close step that keeps a destroyed
//   socket's handle open fails the `destroyed` check. So a number that the kernel may have reused
//   for another descriptor is never returned.
// - Plain TCP handles only (isTcpHandle): never a TLSWrap (its descriptor is its parent's) or a pipe.
const kFd = Symbol('sockclose.fd');
type CachingHandle = NodeHandle & { [kFd]?: number };

/**
 * The fast path for the common case: the descriptor of a live, plain TCP `net.Socket`, or -1 for
 * every other target (a number, TLS, AF_UNIX, destroyed, not yet connected, no descriptor, not a
 * socket), which the caller then hands to {@link resolve} for its exact result or error. No
 * allocation, no map lookup: an `instanceof`, four property reads, one identity comparison.
 *
 * The descriptor comes from the handle's cache (kFd above) once read: the same number Node's
 * accessor gives while the handle is the live socket's. `destroyed` is checked because a close
 * step (src/close-hook.ts) keeps a destroyed socket's handle open; once Node closes a handle it
 * sets `_handle` to null. An http2 proxy passes (its reads forward to the real socket); callers
 * that destroy use {@link realSocket}.
 */
export function liveTcpFd(target: unknown): number {
  try {
    if (!(target instanceof Socket)) return -1;
  } catch {
    // Only a Proxy's getPrototypeOf trap throws here (http2's, once its session closed): the full
    // resolve() says what it is. A try costs nothing until something throws.
    return -1;
  }
  const handle = (target as SocketInternals)._handle as CachingHandle | null;
  if (!handle || target.destroyed || !isTcpHandle(handle)) return -1;
  const cached = handle[kFd];
  if (cached !== undefined) return cached;
  const fd = handle.fd;
  // Not a valid descriptor (closing, or a test double's field): the full resolve() says why.
  if (fd < 0 || (fd | 0) !== fd) return -1;
  if (!(target as SocketInternals).connecting) handle[kFd] = fd;
  return fd;
}

/**
 * A socket's live handle as a resolved target, even though the socket is already `destroyed`: for
 * close steps and watchers (src/close-hook.ts), which run while the handle is still open.
 */
export function resolveHandle(socket: SocketInternals, handle: NodeHandle, caller: Caller): Resolved {
  return { kind: 'socket', socket, handle, fd: handle.fd, transport: handleTransport(handle, caller) };
}

function resolveFd(fd: number, caller: Caller, needs: Needs, fields: number): Resolved {
  probe(fd, Field.describe | fields, caller);
  const family = record[Slot.family]!;
  const type = record[Slot.type]!;
  const listening = record[Slot.listening] === 1;
  if (type !== SocketType.stream) {
    throw notTcp(needs, `descriptor ${fd} is a ${type === SocketType.dgram ? 'datagram (UDP?)' : 'non-stream'} socket`, caller);
  }
  if (family === Family.other) throw notTcp(needs, `descriptor ${fd} is neither TCP nor AF_UNIX`, caller);
  // An unknown family on a stream socket is AIX's error state (getsockname() fails): still TCP.
  const transport: Transport = family === Family.unix ? 'unix' : 'tcp';
  if (needs === 'tcp' && transport !== 'tcp') {
    throw notTcp(needs, `descriptor ${fd} is an AF_UNIX socket, which has no RST and ignores SO_LINGER`, caller);
  }
  return { kind: 'fd', fd, transport, listening };
}

/**
 * The probe record with `fields` for a resolved target: for a raw descriptor {@link resolve}
 * already gathered them (pass the same fields); a socket is probed now. Read it at once.
 */
export function probeResolved(resolved: Resolved, fields: number, caller: Caller): Float64Array {
  return resolved.kind === 'fd' ? record : probe(resolved.fd, fields, caller);
}

/** ERR_SOCKCLOSE_UNSUPPORTED for "the native binary is not available", naming why. */
function unsupportedNative(caller: Caller) {
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
