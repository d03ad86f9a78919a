import { checkTarget, resolve, type SocketTarget } from './target.js';

/**
 * The OS file descriptor behind a socket, read from its live libuv handle at every call (never
 * cached: after the socket closes, the number may belong to something else).
 *
 * @param target - A `net.Socket` or `tls.TLSSocket` (http, https, http2 sockets included), or a
 *   descriptor number, which is returned as it is.
 * @returns The descriptor, a non-negative integer.
 * @throws `ERR_SOCKCLOSE_CLOSED` once the socket is destroyed; `ERR_SOCKCLOSE_NO_FD` while it is
 *   still connecting or when it has no descriptor (TLS over a JavaScript stream);
 *   `ERR_SOCKCLOSE_UNSUPPORTED` on Windows, where Node exposes none.
 * @example
 * ```ts
 * server.on('connection', (socket) => console.log('fd', socketFd(socket)));
 * ```
 */
export function socketFd(target: SocketTarget): number {
  checkTarget(target, socketFd);
  if (typeof target === 'number') return target;
  return resolve(target, socketFd, 'stream').fd;
}
