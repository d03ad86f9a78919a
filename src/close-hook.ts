// Runs asynchronous steps between "Node decided to close this socket" and the real close of its
// handle, whoever asked: user code's destroy(), or http's own timeouts and closeAllConnections().
// Used by the emulated linger (linger.ts) and by the lingering close.
//
// It wraps the socket's _destroy(), the single place where every net.Socket close ends. While the
// steps run the socket is already `destroyed` (reads are dropped, writes refused) but its handle,
// and so its descriptor, stays open: the number cannot be reused under the steps' feet. 'close' is
// emitted only after the real close, as a blocking SO_LINGER close would delay it.
import { clearSocketTimer, ensureReadsDropped, type NodeHandle, type SocketInternals } from './node-handle.js';

/** A step before the real close. Must settle, and within its own bounded time. */
export type CloseStep = (socket: SocketInternals, handle: NodeHandle) => Promise<void>;

/**
 * A last look right before the real close: runs once, synchronously, after every step settled (or
 * at once when the close is immediate), with the handle still open. It cannot delay or veto it.
 */
export type CloseWatcher = (socket: SocketInternals, handle: NodeHandle) => void;

type DestroyCallback = (error?: Error | null) => void;
type Destroy = (this: SocketInternals, error: Error | null, callback: DestroyCallback) => void;

interface Hook {
  readonly original: Destroy;
  readonly steps: Map<string, CloseStep>;
  /** Created on first use: only the harness's observer watches closes. */
  watchers: Map<string, CloseWatcher> | null;
  bypass: boolean;
}

const hooks = new WeakMap<SocketInternals, Hook>();
// Whether any socket was ever hooked: until then bypassCloseSteps() (on every hardReset) skips the
// WeakMap lookup.
let anyHooked = false;

/** Adds (or with `null`, removes) the named step for `socket`. */
export function setCloseStep(socket: SocketInternals, name: string, step: CloseStep | null): void {
  if (!step) {
    hooks.get(socket)?.steps.delete(name);
    return;
  }
  hookOf(socket).steps.set(name, step);
}

/** Adds (or with `null`, removes) the named watcher of `socket`'s real close. */
export function watchRealClose(socket: SocketInternals, name: string, watcher: CloseWatcher | null): void {
  if (!watcher) {
    hooks.get(socket)?.watchers?.delete(name);
    return;
  }
  const hook = hookOf(socket);
  (hook.watchers ??= new Map()).set(name, watcher);
}

function hookOf(socket: SocketInternals): Hook {
  let hook = hooks.get(socket);
  if (!hook) {
    const internals = socket as unknown as { _destroy: Destroy };
    hook = { original: internals._destroy, steps: new Map(), watchers: null, bypass: false };
    hooks.set(socket, hook);
    anyHooked = true;
    internals._destroy = hookedDestroy;
  }
  return hook;
}


/** Makes the next close immediate: for hardReset(), which must not wait for anything. */
export function bypassCloseSteps(socket: SocketInternals): void {
  if (!anyHooked) return;
  const hook = hooks.get(socket);
  if (hook) hook.bypass = true;
}

function hookedDestroy(this: SocketInternals, error: Error | null, callback: DestroyCallback): void {
  const hook = hooks.get(this)!;
  const handle = this._handle;
  if (hook.bypass || hook.steps.size === 0 || !handle) {
    closeNow(this, hook, error, callback);
    return;
  }
  // The socket is destroyed but its handle stays open while the steps run: reads must not reach
  // Node's stream (on a destroyed stream they crash the process), and its timer must not fire.
  ensureReadsDropped(handle);
  clearSocketTimer(this);
  void runSteps(this, handle, hook).then(() => closeNow(this, hook, error, callback));
}

function closeNow(socket: SocketInternals, hook: Hook, error: Error | null, callback: DestroyCallback): void {
  const handle = socket._handle;
  if (handle && hook.watchers) {
    for (const watcher of hook.watchers.values()) {
      try {
        watcher(socket, handle);
      } catch (failure) {
        process.emitWarning(failure as Error, { code: 'SOCKCLOSE_CLOSE_WATCHER' });
      }
    }
  }
  hook.original.call(socket, error, callback);
}

async function runSteps(socket: SocketInternals, handle: NodeHandle, hook: Hook): Promise<void> {
  for (const step of [...hook.steps.values()]) {
    if (hook.bypass) return;
    try {
      await step(socket, handle);
    } catch (error) {
      // A step failing must not keep the socket open, nor vanish.
      process.emitWarning(error as Error, { code: 'SOCKCLOSE_CLOSE_STEP' });
    }
  }
}
