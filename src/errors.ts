// Error objects shaped like Node's own: a stable `code` on every error, `errno`/`syscall` on system
// failures, and a stack that starts at the caller's line rather than inside sockclose.
import { getSystemErrorMap, getSystemErrorName, inspect } from 'node:util';

import type { PendingVerdict } from './platform/behaviour.js';

/** The error codes sockclose defines itself (Node's own codes are used where they fit). Frozen. */
export const ErrorCodes = Object.freeze({
  /** The socket was destroyed or closed: sockclose never touches its old descriptor number. */
  CLOSED: 'ERR_SOCKCLOSE_CLOSED',
  /**
   * The socket has no OS descriptor: still connecting, TLS over a JavaScript stream, its handle
   * sent to another process, … ; or none of a socket's: a TTY (`process.stdout` on a terminal);
   * or a `net.Server` with no listening socket of its own: not listening, or a cluster worker's
   * (the primary holds the listener).
   */
  NO_FD: 'ERR_SOCKCLOSE_NO_FD',
  /** This platform or this install cannot do it; `reason` says why. */
  UNSUPPORTED: 'ERR_SOCKCLOSE_UNSUPPORTED',
  /** The operation only means something for TCP sockets (this one is AF_UNIX, UDP, …). */
  NOT_TCP: 'ERR_SOCKCLOSE_NOT_TCP',
  /** A positive kernel linger would block the event loop in close(); opt in with `blocking: true`. */
  BLOCKING_LINGER: 'ERR_SOCKCLOSE_BLOCKING_LINGER',
  /** peekSocketError() saw that an error is pending but this platform cannot name it. */
  PENDING_ERROR: 'ERR_SOCKCLOSE_PENDING_ERROR',
  /** protectCluster() ran in a worker, or after the primary had set up its workers. */
  CLUSTER_STARTED: 'ERR_SOCKCLOSE_CLUSTER_STARTED',
  /**
   * hardReset() was given the descriptor number of a live Node socket (from socketFd()): closing
   * it under libuv would leave the socket holding a number the next connection reuses. Pass the
   * socket itself.
   */
  SOCKET_OWNS_FD: 'ERR_SOCKCLOSE_SOCKET_OWNS_FD',
  /**
   * Internal: the addon's probe record is missing or detached (only code that tampers with
   * sockclose's internals causes it); the probe refuses rather than write through a stale pointer.
   */
  NATIVE_STATE: 'ERR_SOCKCLOSE_NATIVE_STATE',
} as const);

/** Any `code` value sockclose's own errors carry. */
export type SockcloseErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An Error carrying a stable `code`. */
export interface CodedError extends Error {
  /** One of {@link ErrorCodes}, a Node code such as `'ERR_INVALID_ARG_TYPE'`, or an OS error name such as `'ECONNRESET'`. */
  code: string;
}

/** An operating-system failure, shaped like Node's SystemError (`errno` is negative, as in Node). */
export interface SystemError extends CodedError {
  /** The OS error number, negated (`-ECONNRESET`); 0 when the error could not be named. */
  errno: number;
  /** The system call that failed or reported the error (`'setsockopt'`, `'getsockopt'`, `'poll'`, …). */
  syscall: string;
}

/** A socket error found pending on a connection (see peekSocketError / takeSocketError). */
export interface PendingSocketError extends SystemError {
  /**
   * True when the platform could only tell that an error is pending and sockclose named it from
   * the connection's history (see the README's platform table); false when the kernel said it.
   */
  inferred: boolean;
}

/** An ERR_SOCKCLOSE_UNSUPPORTED error: `reason` names what is missing. */
export interface UnsupportedError extends CodedError {
  /** Why it cannot be done here (the platform's limit or the missing native binary); also ends the message. */
  reason: string;
}

/**
 * The public entry point an error is raised for: its name starts messages, and the stack is cut
 * at it so that it starts at the user's line.
 */
export type Caller = (...args: never[]) => unknown;

// The function a caller called in place of the one raising the error: the package entry's
// forwarders for what it loads on first use (src/index.ts). The stack starts below it, at the
// caller's own line, as it does for every other function.
const calledAs = new WeakMap<Caller, Caller>();

/** Says that callers reach `implementation` through `face` (whose frame a stack must not show). */
export function calledThrough(implementation: Caller, face: Caller): void {
  calledAs.set(implementation, face);
}

function finish<E extends Error>(error: E, code: string, caller: Caller): E & { code: string } {
  const coded = error as E & { code: string };
  coded.code = code;
  Error.captureStackTrace(coded, calledAs.get(caller) ?? caller);
  return coded;
}

/** Node's way of describing a bad value at the end of a message ("Received type string ('x')"). */
function received(value: unknown): string {
  if (value === null || value === undefined) return `Received ${String(value)}`;
  if (typeof value === 'function') return `Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = className(value);
    return name !== null ? `Received an instance of ${name}` : `Received ${inspect(value, { depth: -1 })}`;
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `Received type ${typeof value} (${shown})`;
}

/**
 * Whether `value` is an options object: an object, not an array. A revoked Proxy is none: every
 * look at it throws (`Array.isArray`'s included), so it is refused as a wrong type, as Node does.
 */
export function isOptionsObject(value: unknown): value is object {
  if (value === null || typeof value !== 'object') return false;
  try {
    return !Array.isArray(value);
  } catch {
    return false;
  }
}

/** `value instanceof type`, but false where asking throws (a revoked Proxy) rather than V8's uncoded TypeError. */
export function isInstance<T>(value: unknown, type: abstract new (...args: never[]) => T): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** The name of an object's class, or null (none, or a Proxy whose traps throw: a revoked one). */
function className(value: object): string | null {
  try {
    const name: unknown = value.constructor?.name;
    return typeof name === 'string' && name ? name : null;
  } catch {
    return null;
  }
}

/**
 * Node's ERR_INVALID_ARG_VALUE ending: the value inspected, cut at 128 characters; an instance of a
 * class (a server, a socket) by its class, as ERR_INVALID_ARG_TYPE names it, not its whole state.
 */
function receivedValue(value: unknown): string {
  const name = typeof value === 'object' && value !== null ? className(value) : null;
  if (name !== null && name !== 'Object' && name !== 'Array') return `Received an instance of ${name}`;
  const shown = inspect(value);
  return `Received ${shown.length > 128 ? `${shown.slice(0, 128)}...` : shown}`;
}

export function invalidArgType(name: string, expected: string, value: unknown, caller: Caller) {
  // As Node: "options.force" is a property, "target" an argument.
  const kind = name.includes('.') ? 'property' : 'argument';
  const message = `The "${name}" ${kind} must be ${expected}. ${received(value)}`;
  return finish(new TypeError(message), 'ERR_INVALID_ARG_TYPE', caller);
}

export function invalidArgValue(name: string, value: unknown, reason: string, caller: Caller) {
  // As Node: "The property 'options.family' must be …" for a dotted name.
  const kind = name.includes('.') ? 'property' : 'argument';
  const message = `The ${kind} '${name}' ${reason}. ${receivedValue(value)}`;
  return finish(new TypeError(message), 'ERR_INVALID_ARG_VALUE', caller);
}

/** ERR_INVALID_ARG_VALUE for the net.Socket a live TLS connection runs over (see carriesTls()). */
export function underTls(name: string, value: unknown, caller: Caller) {
  return invalidArgValue(
    name,
    value,
    "is the TCP socket under a live TLS connection (a tls.TLSSocket runs over it): a FIN here would end the connection without TLS's close_notify and fail the TLS socket's queued writes. Pass the TLSSocket",
    caller,
  );
}

export function outOfRange(name: string, range: string, value: unknown, caller: Caller) {
  const message = `The value of "${name}" is out of range. It must be ${range}. Received ${inspect(value)}`;
  return finish(new RangeError(message), 'ERR_OUT_OF_RANGE', caller);
}

export function closedSocket(caller: Caller) {
  const message = `${caller.name}(): the socket is closed; its old descriptor is never touched`;
  return finish(new Error(message), ErrorCodes.CLOSED, caller);
}

/** ERR_SOCKCLOSE_CLOSED for a close that became a reset (asked for) before it could linger. */
export function abortivelyClosed(caller: Caller) {
  const message = `${caller.name}(): the socket was reset before it could linger (hardReset(), resetAndDestroy() or SO_LINGER {1, 0})`;
  return finish(new Error(message), ErrorCodes.CLOSED, caller);
}

/** Node's ERR_STREAM_PREMATURE_CLOSE, for a stream that closed before what was awaited. */
export function prematureClose(what: string, caller: Caller) {
  return finish(new Error(`${caller.name}(): the socket closed before ${what}`), 'ERR_STREAM_PREMATURE_CLOSE', caller);
}

/**
 * noFd()'s reason for a socket that is neither destroyed nor connecting and has no handle: never
 * connected, or its handle went to another process (child.send() without keepOpen leaves the
 * parent's socket like that, the connection alive in the child).
 */
export const NO_HANDLE = 'not connected, or its handle was sent to another process';

export function noFd(why: string, caller: Caller) {
  return finish(new Error(`${caller.name}(): the socket has no file descriptor (${why})`), ErrorCodes.NO_FD, caller);
}

/**
 * ERR_SOCKCLOSE_NO_FD for a net.Server that holds no listening socket of its own (`why`: not
 * listening, or a cluster worker's, whose listener the primary holds).
 */
export function noListener(why: string, caller: Caller) {
  return finish(new Error(`${caller.name}(): the server holds no listening socket (${why})`), ErrorCodes.NO_FD, caller);
}

/**
 * ERR_SOCKCLOSE_NO_FD for a net.Socket whose handle is no socket at all (`what`: a TTY), which has
 * a descriptor, but no socket's.
 */
export function notASocketHandle(what: string, caller: Caller) {
  return finish(new Error(`${caller.name}(): the target is ${what}, not a socket: it has no socket descriptor`), ErrorCodes.NO_FD, caller);
}

export function notTcp(needs: 'tcp' | 'stream', what: string, caller: Caller) {
  const message = `${caller.name}() needs a TCP ${needs === 'tcp' ? 'socket' : 'or AF_UNIX stream socket'}; ${what}`;
  return finish(new TypeError(message), ErrorCodes.NOT_TCP, caller);
}

export function blockingLinger(seconds: number, caller: Caller) {
  const message =
    `${caller.name}(): a linger of ${seconds} s makes close() block the thread for up to ${seconds} s ` +
    'while data is unacknowledged (on a raw descriptor sockclose cannot emulate it asynchronously). ' +
    'Pass { blocking: true } to accept that, or use 0 / false.';
  return finish(new Error(message), ErrorCodes.BLOCKING_LINGER, caller);
}

export function socketOwnsFd(fd: number, caller: Caller) {
  const message =
    `${caller.name}(): descriptor ${fd} belongs to a live Node socket (socketFd() or inspectSocket() gave it out); closing it ` +
    'under Node would let the next connection reuse the number while that socket still holds it. ' +
    'Pass the socket itself instead of its descriptor.';
  return finish(new Error(message), ErrorCodes.SOCKET_OWNS_FD, caller);
}

export function clusterStarted(message: string, caller: Caller) {
  return finish(new Error(message), ErrorCodes.CLUSTER_STARTED, caller);
}

export function unsupported(reason: string, caller: Caller): UnsupportedError {
  const error = finish(new Error(`${caller.name}() is not supported here: ${reason}`), ErrorCodes.UNSUPPORTED, caller);
  return Object.assign(error, { reason });
}

/**
 * A failed syscall; `result` is the native layer's -errno. Message as in Node's net errors
 * (`getsockopt EBADF`), prefixed with the function that failed, as sockclose's other errors are.
 */
export function systemError(result: number, syscall: string, caller: Caller): SystemError {
  const code = getSystemErrorName(result);
  const error = finish(new Error(`${caller.name}(): ${syscall} ${code}`), code, caller);
  return Object.assign(error, { errno: result, syscall });
}

/** A pending socket error, `errno` being the positive OS value. */
export function pendingSocketError(errno: number, syscall: string, inferred: boolean, caller: Caller): PendingSocketError {
  const code = getSystemErrorName(-errno);
  const description = getSystemErrorMap().get(-errno)?.[1] ?? 'unknown error';
  const how = inferred ? 'pending on the socket, named from its TCP state' : 'pending on the socket';
  const error = finish(new Error(`${code}: ${description} (${how})`), code, caller);
  return Object.assign(error, { errno: -errno, syscall, inferred });
}

/** The error a platform's verdict on a pending error stands for (see PlatformBehaviour.pendingError). */
export function verdictError(verdict: PendingVerdict, caller: Caller): PendingSocketError {
  if ('unnamed' in verdict) return unnamedPendingError(verdict.syscall, caller);
  return pendingSocketError(verdict.errno, verdict.syscall, verdict.inferred, caller);
}

/** peekSocketError() knows an error is pending but the platform cannot say which. */
export function unnamedPendingError(syscall: string, caller: Caller): PendingSocketError {
  const message = 'A socket error is pending; this platform cannot name it without consuming it (takeSocketError() can)';
  const error = finish(new Error(message), ErrorCodes.PENDING_ERROR, caller);
  return Object.assign(error, { errno: 0, syscall, inferred: true });
}
