// Our FIN on a lingering server's socket, sent in the end() call itself where Node would go through
// libuv's loop for it. Node's _final() makes a shutdown request (a ShutdownWrap, libuv's write
// watcher, a callback into JavaScript on a later loop iteration) even when nothing is left to
// write; http's close after every `Connection: close` response pays it. With libuv's queue empty,
// shutdown(SHUT_WR) now does the same on the wire, and 'finish' follows as Node emits it after
// its own shutdown.
import { binding } from '../native/binding.js';
import { kindOf, type SocketInternals } from '../node-handle.js';

/**
 * Sends our FIN now if `socket` (a lingering server's) is a connected TCP or AF_UNIX socket whose
 * every byte libuv already handed to the kernel: true if it went. False leaves it to Node's own
 * _final() (TLS, whose close_notify goes first; bytes still queued; no binary; a failed shutdown,
 * which Node then meets and reports as it always does).
 */
export function finNow(socket: SocketInternals): boolean {
  const handle = socket._handle;
  if (handle === null || socket.connecting || (handle.writeQueueSize ?? 0) !== 0) return false;
  const kind = kindOf(handle);
  if (kind !== 'tcp' && kind !== 'unix') return false;
  const native = binding();
  // Read once: `fd` is a native accessor.
  const fd = handle.fd;
  return native !== null && fd >= 0 && native.shutdownWrite(fd) === 0;
}
