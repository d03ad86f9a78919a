import { finished } from 'node:stream/promises';

import { errno } from './errno.js';
import { closedSocket, invalidArgValue, prematureClose, systemError, underTls } from './errors.js';
import { kernelPeerEnd } from './inspect-socket.js';
import { binding } from './native/binding.js';
import { Field } from './native/layout.js';
import { carriesTls, http2Transport, kindOf, type SocketInternals } from './node-handle.js';
import { checkTarget, handleTransport, isDestroyed, noHandle, realSocket, requireNative, resolve, type SocketTarget } from './target.js';

/**
 * Half-closes the connection: sends FIN once every byte already written has left, and keeps
 * reading. On a Node socket this is `end()` (TLS sends close_notify first), so nothing queued in
 * Node is truncated; the promise settles when the FIN has been handed to the kernel. On a raw
 * descriptor it is shutdown(SHUT_WR).
 *
 * Works without the native binary for Node sockets.
 *
 * @param target - A `net.Socket` / `tls.TLSSocket` (TCP or AF_UNIX), or a descriptor number.
 * @returns A promise that resolves once the write side is shut, and rejects (never throws) with
 *   `ERR_SOCKCLOSE_CLOSED`, `ERR_SOCKCLOSE_NO_FD` (never connected, or its handle sent to another
 *   process), the socket's error, or `ERR_STREAM_PREMATURE_CLOSE` if it closes first; `ENOTCONN` (`syscall: 'shutdown'`) when the
 *   peer had reset the connection, so no FIN could go out (Node itself reports success then; told
 *   with the binary, on TCP); `ERR_INVALID_ARG_VALUE` for a listening descriptor (no connection to
 *   shut down), as `hardReset()` does; `ERR_INVALID_ARG_VALUE` for the net.Socket under a live
 *   TLS connection (pass the `tls.TLSSocket`: its end() sends close_notify first); and
 *   `ERR_INVALID_ARG_VALUE` for the socket of a live http2 session (or its proxy,
 *   `session.socket`), whose frames still queued in the session a FIN would cut off: close the
 *   session instead (`session.close()`); `ENOTSOCK` (`syscall: 'getsockopt'`, as `inspectSocket()`
 *   says; told with the binary) for a socket over a pipe that is no socket (a FIFO), which
 *   shutdown() cannot half-close (Node itself reports success then), left as it was: only the
 *   write end of a pipe that reads nothing more (`readable: false`, or its input ended) is
 *   accepted, since Node closes it at 'finish', which the reader sees as EOF; and
 *   `ERR_SOCKCLOSE_NO_FD` for a TTY (`process.stdout` on a terminal), which is no socket either.
 * @example
 * ```ts
 * await shutdownWrite(socket); // the peer now reads EOF; we can still read its reply
 * ```
 */
export async function shutdownWrite(target: SocketTarget): Promise<void> {
  checkTarget(target, shutdownWrite);
  if (typeof target === 'number') {
    const resolved = resolve(target, shutdownWrite, 'stream');
    // shutdown() of a listener is a silent no-op on Linux: refuse it, as hardReset() does.
    if (resolved.kind === 'fd' && resolved.listening) {
      throw invalidArgValue('target', target, 'is a listening socket, which has no connection to shut down', shutdownWrite);
    }
    const { fd } = resolved;
    const result = requireNative(shutdownWrite).shutdownWrite(fd);
    if (result < 0) throw systemError(result, 'shutdown', shutdownWrite);
    return;
  }
  const socket = realSocket(target);
  if (isDestroyed(socket)) throw closedSocket(shutdownWrite);
  // Never connected and not connecting: end() would wait for a connection that never comes.
  if (!socket._handle && !socket.connecting) throw noHandle(socket, shutdownWrite);
  // A FIN under a live TLS connection ends it without close_notify and fails its queued writes.
  if (carriesTls(socket)) throw underTls('target', target, shutdownWrite);
  // nghttp2 writes its frames straight to the handle: end() does not wait for them, and a FIN here
  // cut off the response the session had just queued (the client got none). As lingeringClose().
  if (http2Transport(socket) && !socket.writableEnded) {
    throw invalidArgValue('target', target, 'is the transport of a live http2 session, whose queued frames a FIN would cut off: close the session (session.close())', shutdownWrite);
  }
  if (socket.writableFinished) return;
  if (socket._handle && !socket.writableEnded) refuseNonSocket(socket);
  // Nor does a FIN go out on a connection the peer had reset: Node takes shutdown()'s ENOTCONN for
  // success. The kernel is asked at 'finish', while the handle is still open: a socket whose input
  // had ended is destroyed right after it (autoDestroy), and then nothing was asked.
  let end: ReturnType<typeof kernelPeerEnd> = null;
  const look = (): void => {
    end = socket._handle ? kernelPeerEnd(socket._handle) : null;
  };
  socket.once('finish', look);
  const done = finished(socket, { readable: false });
  if (!socket.writableEnded) socket.end();
  try {
    await done;
  } finally {
    socket.off('finish', look);
  }
  // finished() also settles when destroy() discarded what was queued: no FIN went out then.
  if (!socket.writableFinished) throw prematureClose('its FIN was handed to the kernel', shutdownWrite);
  if (end === 'reset' || end === 'fin-reset') throw systemError(-errno().ENOTCONN, 'shutdown', shutdownWrite);
}


/**
 * Throws unless end() on `socket` can half-close it: a TTY (Node's own handle class tells, at no
 * cost) is no socket; a Pipe handle may hold a pipe that is none (a FIFO, a pipe(2)), where Node
 * takes shutdown()'s ENOTSOCK for success and nothing reaches the reader. One getsockopt tells,
 * on Pipe handles only (TCP pays nothing); a pipe's write end is accepted when Node closes it at
 * 'finish' (its input is done, and it is no stdio stream, which Node never closes): the reader
 * sees EOF then.
 */
function refuseNonSocket(socket: SocketInternals): void {
  const handle = socket._handle!;
  const kind = kindOf(handle);
  if (kind === 'tcp' || kind === 'tls') return;
  // ERR_SOCKCLOSE_NO_FD naming what the handle is (a TTY), as every other function says.
  if (kind !== 'unix') handleTransport(handle, shutdownWrite);
  const native = binding();
  const fd = handle.fd;
  if (native === null || socket.connecting || !(fd >= 0)) return;
  const result = native.probe(fd, Field.linger);
  if (result < 0 && !closesAtFinish(socket)) throw systemError(result, 'getsockopt', shutdownWrite);
}

/** Whether Node destroys `socket`, so closes its descriptor, at 'finish' (Writable's autoDestroy). */
function closesAtFinish(socket: SocketInternals): boolean {
  const stream = socket as SocketInternals & {
    _isStdio?: boolean;
    _readableState?: { autoDestroy?: boolean; endEmitted?: boolean; readable?: boolean };
    _writableState?: { autoDestroy?: boolean };
  };
  // process.stdout and process.stderr (and stdin) are never closed by Node: destroy() leaves them open.
  if (stream._isStdio === true) return false;
  const readable = stream._readableState;
  const readDone = !readable || (readable.autoDestroy === true && (readable.endEmitted === true || readable.readable === false));
  return stream._writableState?.autoDestroy === true && readDone;
}
