import { binding } from './native/binding.js';
import type { NodeHandle } from './node-handle.js';
import { checkTarget, resolve, type SocketTarget } from './target.js';

// The descriptors socketFd() and inspectSocket() handed out, each with the handle it was read
// from, so that a raw descriptor call that closes (hardReset(fd)) can refuse one a live socket
// still holds. Keyed by number, so at most one entry per descriptor number ever used; weak, so no
// handle is kept alive. A handle keeps its descriptor for life: once recorded (a mark on the
// handle, as Node marks its own handles), later calls cost one property read.
//
// Descriptor numbers belong to the whole process, and a socket may be another thread's, or another
// copy of sockclose's (two installs in one application). So the map is shared by every copy in this
// thread (a global registered symbol), and each number is also recorded natively, for every
// thread, with the socket it named (native/handed_out.h).
const handedOut = sharedRegistry<NodeHandle>(Symbol.for('sockclose.handedOut.v1'));
// And the socket each number came from: a socket that connects again after destroy() gets a new
// handle, often with the same number (the lowest free one), which the old handle's entry no
// longer covers. Its own registry (v1 of the handles' stays as it is for older copies).
const socketsHandedOut = sharedRegistry<SocketTarget & object>(Symbol.for('sockclose.handedOutSockets.v1'));
const kRecorded = Symbol('sockclose.socketFd');

function sharedRegistry<T extends object>(key: symbol): Map<number, WeakRef<T>> {
  const holder = globalThis as Record<symbol, unknown>;
  const existing = holder[key];
  if (existing instanceof Map) return existing as Map<number, WeakRef<T>>;
  const created = new Map<number, WeakRef<T>>();
  // Not enumerable: nothing that lists globals sees it.
  Object.defineProperty(holder, key, { value: created, configurable: true });
  return created;
}

/**
 * The OS file descriptor behind a socket, read from its live libuv handle at every call (never
 * cached: after the socket closes, the number may belong to something else).
 *
 * While the socket is open, {@link hardReset} refuses the number with
 * `ERR_SOCKCLOSE_SOCKET_OWNS_FD` (closing it under Node would hand the number to the next
 * connection while the socket still holds it), in every thread of the process: pass the socket
 * itself. (Each binary keeps its own table: another install of sockclose in another thread does
 * not see this number; nor, in another thread, does any copy see the number this socket holds
 * after it connected again, until this returns it again.)
 *
 * @param target - A `net.Socket` or `tls.TLSSocket` (http, https, http2 sockets included), or a
 *   descriptor number, which is returned as it is.
 * @returns The descriptor, a non-negative integer.
 * @throws `ERR_SOCKCLOSE_CLOSED` once the socket is destroyed; `ERR_SOCKCLOSE_NO_FD` while it has
 *   no descriptor yet (still resolving its host; a connecting socket has one from its first
 *   attempt on, which a later attempt, with `autoSelectFamily`, replaces) or none at all (TLS over
 *   a JavaScript stream; never connected; its handle sent to another process with
 *   `child.send(message, socket)` without `keepOpen`);
 *   `ERR_SOCKCLOSE_UNSUPPORTED` on Windows, where Node exposes none.
 * @example
 * ```ts
 * server.on('connection', (socket) => console.log('fd', socketFd(socket)));
 * ```
 */
export function socketFd(target: SocketTarget): number {
  checkTarget(target, socketFd);
  // `+ 0`: -0 is descriptor 0, as every other function reads it.
  if (typeof target === 'number') return target + 0;
  const resolved = resolve(target, socketFd, 'stream');
  const { fd } = resolved;
  if (resolved.kind === 'socket') recordHandedOut(resolved.socket, resolved.handle, fd);
  return fd;
}

/** Records that a live socket's descriptor number `fd` (its `handle`'s) was given to the caller. */
export function recordHandedOut(socket: SocketTarget & object, handle: NodeHandle, fd: number): void {
  if ((handle as { [kRecorded]?: true })[kRecorded] === true) return;
  (handle as { [kRecorded]?: true })[kRecorded] = true;
  handedOut.set(fd, new WeakRef(handle));
  socketsHandedOut.set(fd, new WeakRef(socket));
  // For the other threads (a failure, EBADF say, leaves them only this thread's record).
  binding()?.handedOut(fd);
}

/**
 * Whether `fd` is the descriptor of a live socket that socketFd() or inspectSocket() handed out:
 * in this thread, its handle still exists and still reports that number (libuv forgets it when it
 * closes the handle), or the socket holds that number again through a new handle; in any thread,
 * the number still names the socket it named when handed out.
 */
export function heldByLiveSocket(fd: number): boolean {
  const entry = handedOut.get(fd);
  if (entry !== undefined) {
    const handle = entry.deref();
    if (handle !== undefined && handle.fd === fd) return true;
    handedOut.delete(fd);
  }
  const socket = socketsHandedOut.get(fd)?.deref();
  if (socket !== undefined) {
    // The socket the number came from holds it again, through a new handle (connected again).
    if (currentFd(socket) === fd) return true;
    socketsHandedOut.delete(fd);
  }
  return binding()?.handedOutHeld(fd) === 1;
}

/** The descriptor a socket holds now, or -1 (destroyed, no handle, another copy's oddity). */
function currentFd(socket: SocketTarget): number {
  try {
    return resolve(socket, heldByLiveSocket, 'stream').fd;
  } catch {
    return -1;
  }
}
