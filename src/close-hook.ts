// Runs asynchronous steps between "Node decided to close this socket" and the real close of its
// handle, whoever asked: user code's destroy(), or http's own timeouts and closeAllConnections().
// Used by the emulated linger (linger.ts) and by the lingering close.
//
// It wraps the socket's _destroy(), the single place where every net.Socket close ends. While the
// steps run the socket is already `destroyed` (reads are dropped, writes refused) but its handle,
// and so its descriptor, stays open: the number cannot be reused under the steps' feet. 'close' is
// emitted only after the real close, as a blocking SO_LINGER close would delay it.
import type { NodeHandle, SocketInternals } from './target.js';

/** A step before the real close. Must settle, and within its own bounded time. */
export type CloseStep = (socket: SocketInternals, handle: NodeHandle) => Promise<void>;

type DestroyCallback = (error?: Error | null) => void;
type Destroy = (this: SocketInternals, error: Error | null, callback: DestroyCallback) => void;

interface Hook {
  readonly original: Destroy;
  readonly steps: Map<string, CloseStep>;
  bypass: boolean;
}

const hooks = new WeakMap<SocketInternals, Hook>();

/** Adds (or with `null`, removes) the named step for `socket`. */
export function setCloseStep(socket: SocketInternals, name: string, step: CloseStep | null): void {
  let hook = hooks.get(socket);
  if (!step) {
    hook?.steps.delete(name);
    return;
  }
  if (!hook) {
    const internals = socket as unknown as { _destroy: Destroy };
    hook = { original: internals._destroy, steps: new Map(), bypass: false };
    hooks.set(socket, hook);
    internals._destroy = hookedDestroy;
  }
  hook.steps.set(name, step);
}

/** Whether the named step is set. */
export function hasCloseStep(socket: SocketInternals, name: string): boolean {
  return hooks.get(socket)?.steps.has(name) ?? false;
}

/** Makes the next close immediate: for hardReset(), which must not wait for anything. */
export function bypassCloseSteps(socket: SocketInternals): void {
  const hook = hooks.get(socket);
  if (hook) hook.bypass = true;
}

function hookedDestroy(this: SocketInternals, error: Error | null, callback: DestroyCallback): void {
  const hook = hooks.get(this)!;
  const handle = this._handle;
  if (hook.bypass || hook.steps.size === 0 || !handle) {
    hook.original.call(this, error, callback);
    return;
  }
  void runSteps(this, handle, hook).then(() => hook.original.call(this, error, callback));
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
