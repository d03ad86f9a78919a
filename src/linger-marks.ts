// Which connections sockclose's setLinger() made abortive (SO_LINGER {1, 0}) through their Node
// socket. Once Node has sent our FIN, the native lingerer reads SO_LINGER only before a close it
// can change (native/lingerer.cc, ReadDeferredLinger()): a peer that read our response and closed
// costs no getsockopt, one syscall of the five a lingering close adds per request. An abortive
// close asked with setLinger(socket, 0) must still reset at once rather than after a linger: the
// hand-over looks here (no lookup at all until a mark was ever made), then asks the kernel, which
// has the last word (the setting may have changed since through the raw descriptor).
import { transportHandle } from './node-handle.js';
import type { NodeHandle } from './target.js';

const marked = new WeakSet<NodeHandle>();
let everMarked = false;

/**
 * Where a connection's linger settings are kept (these marks, and linger.ts's emulated linger): its
 * transport handle, a TLSWrap's parent, the one that owns the descriptor. Internal.
 */
export function lingerKey(handle: NodeHandle): NodeHandle {
  return transportHandle(handle) ?? handle;
}

/** Records that setLinger() set (`abortive`) or replaced SO_LINGER {1, 0} through `handle`. Internal. */
export function markAbortiveLinger(handle: NodeHandle, abortive: boolean): void {
  const key = lingerKey(handle);
  if (abortive) {
    marked.add(key);
    everMarked = true;
  } else if (everMarked) {
    marked.delete(key);
  }
}

/** Whether setLinger(socket, 0) was last asked through `handle`'s socket. Internal. */
export function abortiveLingerMarked(handle: NodeHandle): boolean {
  return everMarked && marked.has(lingerKey(handle));
}
