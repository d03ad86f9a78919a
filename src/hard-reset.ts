
import { errno } from './errno.js';
import { closeHook } from './close-hook-lazy.js';
import { hardResetObserved, publishHardReset } from './diagnostics/channels.js';
import { closedSocket, invalidArgValue, notTcp, socketOwnsFd, systemError, unsupported } from './errors.js';
import { binding, unavailableReason } from './native/binding.js';
import { kindOf, transportKind } from './node-handle.js';
import { currentPlatform } from './platform/detect.js';
import { tcpCloseWouldReset } from './inspect-socket.js';
import { platform } from './platform/index.js';
import { heldByLiveSocket } from './socket-fd.js';
import { checkTarget, handleTransport, isDestroyed, liveTcpFd, noHandle, realSocket, requireNative, resolve, resolveSocket, type SocketInternals, type SocketTarget } from './target.js';

const pending = new WeakSet<SocketInternals>();

/**
 * Abortive close: the peer gets an RST, this side keeps no TIME_WAIT. For a Node socket, sets
 * SO_LINGER {1, 0} on its descriptor and destroys it ('close' is emitted as usual); for a raw
 * descriptor, sets the option and closes the descriptor (the only time sockclose closes one).
 *
 * Works where Node's `socket.resetAndDestroy()` does not: TLS sockets (client and server side),
 * sockets that already called `end()`. A socket still connecting is reset once it connects, as
 * `resetAndDestroy()` does; if it never connects, there is nothing to reset (a connection made
 * later on the same socket, after its `'close'`, is left alone). Nor is there once the
 * connection is over (the peer reset it, or both FINs were exchanged and acknowledged); and on Linux,
 * after both sides sent their FIN (LAST_ACK, CLOSING), the kernel sends RST only while bytes of ours
 * are still unsent, else it drops the connection silently (tcp_disconnect()). `closeWouldReset()`
 * after `setLinger(target, 0)` says which. A connection another process holds too (a socket sent
 * over IPC with `keepOpen: true`, a descriptor a child inherited) is not reset by this process's
 * close: the RST goes out when the last holder closes it (SO_LINGER {1, 0} stays set on it).
 *
 * A descriptor number is closed by this call: pass one that no Node socket holds. sockclose refuses
 * the numbers it handed out itself (`socketFd()`, `inspectSocket()`), but cannot recognise one it
 * never gave out (a `new net.Socket({ fd })` on an inherited descriptor, a number from another
 * addon): closed under a live Node handle, it makes libuv abort the process. Pass the socket.
 *
 * Without the native binary (or on Windows) a plain TCP socket is still reset, through Node's
 * `resetAndDestroy()`; a TLS socket or a raw descriptor throws `ERR_SOCKCLOSE_UNSUPPORTED`, and
 * the targets no binary could reset throw as they do with one (AF_UNIX `ERR_SOCKCLOSE_NOT_TCP`,
 * TLS over a JavaScript stream `ERR_SOCKCLOSE_NO_FD`).
 *
 * @param target - A TCP `net.Socket` / `tls.TLSSocket`, or a TCP descriptor number.
 * @throws `ERR_SOCKCLOSE_CLOSED` if the socket is already destroyed; `ERR_SOCKCLOSE_NOT_TCP` for
 *   AF_UNIX or UDP; `ERR_INVALID_ARG_VALUE` for a listening descriptor (no connection to reset);
 *   `ERR_SOCKCLOSE_SOCKET_OWNS_FD` for the descriptor of a live Node socket that
 *   `socketFd()` or `inspectSocket()` returned, in any thread or copy of sockclose in the process
 *   (pass the socket; not covered: from another thread, a socket connected again until its new
 *   number is given out, and a number another install of sockclose, with its own binary, gave
 *   out); `ERR_SOCKCLOSE_NO_FD` for a socket never connected, or whose handle was
 *   sent to another process; a system error from getsockopt() (not a socket), setsockopt() (then
 *   nothing was closed) or close().
 * @example
 * ```ts
 * // Drop clients that stall, without TIME_WAIT. An http(s) server: its 'timeout' listener (without
 * // one, http destroys a timed-out socket itself, and hardReset() would find it closed).
 * server.setTimeout(5000, (socket) => hardReset(socket));
 * // A net.Server's socket:
 * socket.setTimeout(5000, () => hardReset(socket));
 * ```
 */
export function hardReset(target: SocketTarget): void {
  checkTarget(target, hardReset, 'tcp');
  if (typeof target === 'number') {
    // What the number is comes first (the probe only reads): an AF_UNIX socket's is NOT_TCP,
    // whoever holds it, as the socket itself would be.
    const resolved = resolve(target, hardReset, 'tcp');
    // Closing a live socket's descriptor under libuv: the next connection would get the number,
    // and that socket's destroy() would later close the new connection's descriptor.
    if (heldByLiveSocket(target)) throw socketOwnsFd(target, hardReset);
    if (resolved.kind === 'fd' && resolved.listening) {
      throw invalidArgValue('target', target, 'is a listening socket, which has no connection to reset', hardReset);
    }
    const { fd } = resolved;
    const native = requireNative(hardReset);
    const resets = setAbortiveLinger(fd) && resetFollows(fd);
    const result = native.close(fd);
    if (result < 0) throw systemError(result, 'close', hardReset);
    if (resets) publishHardReset(null, fd);
    return;
  }

  const socket = realSocket(target);
  if (isDestroyed(socket)) throw closedSocket(hardReset);
  if (!currentPlatform().hasDescriptors || !binding()) {
    resetThroughNode(socket);
    return;
  }
  if (socket.connecting) {
    // Its handle exists from connect() on: an AF_UNIX socket is refused now, as once connected
    // (later, nobody would be on the stack to catch the error).
    const handle = socket._handle;
    if (handle && transportKind(handle) === 'unix') {
      throw notTcp('tcp', 'this is an AF_UNIX socket or a pipe (a Node Pipe handle), which has no RST and no linger', hardReset);
    }
    resetOnceConnected(socket);
    return;
  }
  // The fast path for a live TCP socket; the full resolution (and its exact errors) for the rest.
  let fd = liveTcpFd(socket);
  if (fd < 0) fd = resolveSocket(socket, hardReset, 'tcp').fd;
  const resets = setAbortiveLinger(fd) && resetFollows(fd);
  closeHook().bypassCloseSteps(socket);
  socket.destroy();
  if (resets) publishHardReset(socket, fd);
}

/** Sets SO_LINGER {1, 0}; false when the kernel refused it on a connection that is already over. */
function setAbortiveLinger(fd: number): boolean {
  const result = requireNative(hardReset).lingerAbortive(fd);
  if (result >= 0) return true;
  // BSD-derived stacks refuse socket options on a connection that is already reset or shut down:
  // there is nothing left to reset then, and closing is all that remains to do.
  if (result !== -errno().EINVAL && result !== -errno().ECONNRESET) throw systemError(result, 'setsockopt', hardReset);
  return false;
}

/**
 * Whether closing `fd`, SO_LINGER {1, 0} set, sends RST, for sockclose:hard-reset, which reports
 * only resets that reset a connection: none once the connection is over (the peer reset it, or
 * both FINs were exchanged; on Linux, LAST_ACK or CLOSING with nothing unsent). closeWouldReset()'s
 * verdict, asked only while the channel has a subscriber (resetHints(): two or three getsockopts);
 * true where the platform or a failed look cannot tell.
 */
function resetFollows(fd: number): boolean {
  if (!hardResetObserved()) return true;
  const native = binding();
  const rules = platform();
  if (native === null || rules.closeWouldResetFields === 0) return true;
  try {
    return tcpCloseWouldReset(fd, native, rules, hardReset);
  } catch {
    return true;
  }
}

function resetOnceConnected(socket: SocketInternals, reset: (socket: SocketInternals) => void = hardReset): void {
  if (pending.has(socket)) return;
  pending.add(socket);
  const onConnect = (): void => {
    socket.off('close', onClose);
    pending.delete(socket);
    if (socket.destroyed) return;
    try {
      reset(socket);
    } catch (error) {
      // Nobody is on the stack to catch it: fail the socket with it rather than lose it.
      socket.destroy(error as Error);
    }
  };
  // This attempt never connected (refused, destroyed): the reset was its own. Node lets the socket
  // connect again after 'close', and that connection was never asked to reset.
  const onClose = (): void => {
    socket.off('connect', onConnect);
    pending.delete(socket);
  };
  socket.once('connect', onConnect);
  socket.once('close', onClose);
}

/**
 * Node's reset of a connected plain TCP socket, published. Also once a connect that hardReset()
 * waited for completes, even if end() was called meanwhile: this 'connect' listener, added first,
 * resets before Node's deferred shutdown runs, as Node's own wait did.
 */
function resetConnected(socket: SocketInternals): void {
  socket.resetAndDestroy!();
  publishHardReset(socket, -1);
}

/** JavaScript-only path: Node's own reset, for the sockets it accepts. */
function resetThroughNode(socket: SocketInternals): void {
  const handle = socket._handle;
  // Never connected (or handed to another process): as the native path says. Node's
  // resetAndDestroy() would destroy it with an 'error' nobody may be listening for.
  if (!handle) throw noHandle(socket, hardReset);
  // What no binary would change is said as the native path says it, not as "unsupported here":
  // TLS over a JavaScript stream has no descriptor (NO_FD), an AF_UNIX socket no RST (NOT_TCP).
  if (handleTransport(handle, hardReset) === 'unix') {
    throw notTcp('tcp', 'this is an AF_UNIX socket or a pipe (a Node Pipe handle), which has no RST and no linger', hardReset);
  }
  const plainTcp = kindOf(handle) === 'tcp';
  if (typeof socket.resetAndDestroy === 'function' && plainTcp && !socket.writableEnded) {
    // Still connecting: our own wait, as the native path's (one reset however many calls, none if
    // the connect fails), not Node's: its 'connect' listener outlives a failed connect and resets
    // the next connection made on the socket after 'close'.
    if (socket.connecting) return resetOnceConnected(socket, resetConnected);
    resetConnected(socket);
    return;
  }
  const why = !plainTcp
    ? "Node's resetAndDestroy() rejects TLS sockets"
    : socket.writableEnded
      ? "Node's resetAndDestroy() cannot reset after end() (libuv refuses while a shutdown is pending)"
      : "this Node has no resetAndDestroy() (Node >= 16.17 / 18.3)";
  const native = currentPlatform().noDescriptorsReason ?? `the native binary is unavailable: ${unavailableReason() ?? 'unknown reason'}`;
  throw unsupported(`${why}, and ${native}`, hardReset);
}
