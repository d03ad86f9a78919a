import { pendingSocketError, systemError, unsupported, verdictError, type PendingSocketError } from './errors.js';
import { Field, Revents } from './native/layout.js';
import { binding } from './native/binding.js';
import { platform, type PeekContext } from './platform/index.js';
import { transportBytesRead, type NodeHandle, type SocketInternals } from './node-handle.js';
import { liveTcpFd, probe, probeResolved, requireNative, resolve, type SocketTarget } from './target.js';

// A module constant: read through the layout module on every call it cost a few map checks more.
const REVENT_ERR = Revents.err;

/**
 * The error pending on a socket, **without consuming it**: the socket is left exactly as it was,
 * so Node (or a later {@link takeSocketError}) still sees the error, and data received before it
 * stays readable.
 *
 * What each platform can tell (see the README's platform table):
 * - Linux: whether an error is pending is exact (poll() reports POLLERR and leaves it in place;
 *   SO_ERROR is never read, since reading it clears it). Its name is inferred from the TCP state
 *   (`inferred: true`): ECONNREFUSED if the connection never got established, EPIPE if the peer's
 *   FIN came before the reset (Node sockets only), else ECONNRESET. A connection that died of a
 *   retransmission or keepalive timeout is also reported as ECONNRESET.
 * - AIX / IBM i: getsockname() failing with EINVAL marks a reset connection: ECONNRESET.
 * - macOS / BSD / Windows: throws `ERR_SOCKCLOSE_UNSUPPORTED` (no non-destructive way exists).
 *
 * @param target - A `net.Socket` / `tls.TLSSocket` (TCP or AF_UNIX), or a descriptor number.
 * @returns An Error with `code` (such as `'ECONNRESET'`), `errno`, `syscall` and `inferred`, or
 *   `null` when no error is pending.
 * @throws `ERR_SOCKCLOSE_UNSUPPORTED` where the platform cannot peek (above), or without the
 *   native binary;
 *   `ERR_INVALID_ARG_TYPE` for a target that is neither a socket nor a number; `ERR_OUT_OF_RANGE`
 *   for a number that is not a descriptor (an integer 0 to 2^31 - 1); `ERR_SOCKCLOSE_CLOSED` once
 *   the socket is destroyed; `ERR_SOCKCLOSE_NO_FD` while it has none (see socketFd);
 *   `ERR_SOCKCLOSE_NOT_TCP` for a UDP socket; a system error (`syscall`, `errno`) for a number that
 *   is not an open socket (ENOTSOCK, EBADF).
 * @example
 * ```ts
 * socket.on('end', () => {
 *   // A FIN followed by an RST reads as a clean EOF (and libuv <= 1.51 reads many plain resets
 *   // that way too); the kernel still knows.
 *   const error = peekSocketError(socket);
 *   if (error) console.log('the peer reset the connection:', error.code);
 * });
 * ```
 */
export function peekSocketError(target: SocketTarget): PendingSocketError | null {
  const rules = platform();
  const fd = liveTcpFd(target);
  const native = fd >= 0 && rules.peekFields !== 0 ? binding() : null;
  if (native !== null) {
    // The fast path. Where poll() alone can clear a socket (Linux), one poll answers the common
    // case; a socket with POLLERR, or a failed poll, gets the full probe (and its exact errors).
    if (rules.peekClearedByPoll) {
      const revents = native.pollRevents(fd);
      if (revents >= 0 && (revents & REVENT_ERR) === 0) return null;
    }
    // One probe, and a context object reused across calls (no closure per call).
    const record = probe(fd, rules.peekFields, peekSocketError);
    fastFd = fd;
    fastHandle = (target as SocketInternals)._handle;
    let verdict;
    try {
      verdict = rules.pendingError(record, fastContext);
    } finally {
      fastHandle = null; // never keeps a socket alive
    }
    return verdict === null ? null : verdictError(verdict, peekSocketError);
  }
  const resolved = resolve(target, peekSocketError, 'stream', rules.peekFields);
  requireNative(peekSocketError);
  if (rules.peekFields === 0) throw unsupported(rules.peekUnsupportedReason!, peekSocketError);
  const record = probeResolved(resolved, rules.peekFields, peekSocketError);
  const verdict = rules.pendingError(record, {
    transport: resolved.transport,
    // Only a reset needs this, so only then is the unread count probed.
    finCounted: () =>
      rules.peerFinReceived(probe(resolved.fd, Field.unread | Field.tcp, peekSocketError), () =>
        resolved.kind === 'socket' ? transportBytesRead(resolved.handle) : null,
      ) === true,
  });
  return verdict === null ? null : verdictError(verdict, peekSocketError);
}

// The fast path's peek context: what it needs is set right before the (synchronous) verdict.
let fastFd = -1;
let fastHandle: NodeHandle | null = null;
const fastBytesRead = (): number | null => (fastHandle ? transportBytesRead(fastHandle) : null);
const fastContext: PeekContext = {
  transport: 'tcp',
  finCounted: () => platform().peerFinReceived(probe(fastFd, Field.unread | Field.tcp, peekSocketError), fastBytesRead) === true,
};

/**
 * Reads **and clears** the socket's pending error (getsockopt SO_ERROR), like Rust's
 * `TcpStream::take_error`. Afterwards a reset connection reads as a clean EOF on Linux; prefer
 * {@link peekSocketError} unless clearing is the point.
 *
 * @param target - A `net.Socket` / `tls.TLSSocket` (TCP or AF_UNIX), or a descriptor number.
 * @returns The error (with `code`, `errno`, `syscall: 'getsockopt'`, `inferred: false`), or `null`.
 * @throws `ERR_SOCKCLOSE_UNSUPPORTED` without the native binary or on Windows;
 *   `ERR_INVALID_ARG_TYPE` for a target that is neither a socket nor a number; `ERR_OUT_OF_RANGE`
 *   for a number that is not a descriptor (an integer 0 to 2^31 - 1); `ERR_SOCKCLOSE_CLOSED` once
 *   the socket is destroyed; `ERR_SOCKCLOSE_NO_FD` while it has none (see socketFd);
 *   `ERR_SOCKCLOSE_NOT_TCP` for a UDP socket; a system error from getsockopt() for a number that is
 *   not an open socket (ENOTSOCK, EBADF).
 */
export function takeSocketError(target: SocketTarget): PendingSocketError | null {
  let fd = liveTcpFd(target);
  let native = fd >= 0 ? binding() : null;
  if (native === null) {
    fd = resolve(target, takeSocketError, 'stream').fd;
    native = requireNative(takeSocketError);
  }
  const result = native.takeError(fd);
  if (result < 0) throw systemError(result, 'getsockopt', takeSocketError);
  return result === 0 ? null : pendingSocketError(result, 'getsockopt', false, takeSocketError);
}
