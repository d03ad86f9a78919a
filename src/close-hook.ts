// Runs asynchronous steps between "Node decided to close this socket" and the real close of its
// handle, whoever asked: user code's destroy(), or http's own timeouts and closeAllConnections().
// Used by the emulated linger (linger.ts) and by the lingering close.
//
// It wraps the socket's _destroy(), the single place where every net.Socket close ends. While the
// steps run the socket is already `destroyed` (reads are dropped, writes refused) but its handle,
// and so its descriptor, stays open: the number cannot be reused under the steps' feet. 'close' is
// emitted only after the real close, as a blocking SO_LINGER close would delay it.
import type { LingerReport } from './lingering/types.js';
import { clearSocketTimer, ensureReadsDropped, type NodeHandle, type SocketInternals } from './node-handle.js';

/**
 * A step before the real close. Returns (or settles with) `true` when it has decided the close and
 * no later step may run (the lingering close, which has handed the connection over), else nothing.
 * A step that can answer at once does so synchronously: the close then happens in the same tick.
 * A promise must settle, and within its own bounded time.
 */
export type CloseStep = (socket: SocketInternals, handle: NodeHandle) => StepOutcome | Promise<StepOutcome>;
type StepOutcome = boolean | void;

/**
 * A last look right before the real close: runs once, synchronously, after every step settled (or
 * at once when the close is immediate), with the handle still open. It cannot delay or veto it.
 * When a step took the descriptor over (the lingering close hands it to the native lingerer),
 * Node's close is not the connection's: `later` then settles with the linger's report, once the
 * descriptor is really closed.
 */
export type CloseWatcher = (socket: SocketInternals, handle: NodeHandle, later: Promise<LingerReport> | null) => void;

type DestroyCallback = (error?: Error | null) => void;
type Destroy = (this: SocketInternals, error: Error | null, callback: DestroyCallback) => void;

interface Hook {
  readonly original: Destroy;
  steps: Map<string, CloseStep>;
  /** Created on first use: only the harness's observer watches closes. */
  watchers: Map<string, CloseWatcher> | null;
  /** Set by a step that took the descriptor over: how it ends, later. */
  later: Promise<LingerReport> | null;
  bypass: boolean;
}

const hooks = new WeakMap<SocketInternals, Hook>();
// Whether any socket was ever hooked: until then bypassCloseSteps() (on every hardReset) skips the
// WeakMap lookup.
let anyHooked = false;

/**
 * Adds (or with `null`, removes) the named step for `socket`. `first` puts it before every other
 * step: the lingering close, which bounds (and so replaces) an emulated linger's wait.
 */
export function setCloseStep(socket: SocketInternals, name: string, step: CloseStep | null, first = false): void {
  if (!step) {
    hooks.get(socket)?.steps.delete(name);
    return;
  }
  const hook = hookOf(socket);
  if (first && hook.steps.size > 0) {
    hook.steps.delete(name);
    hook.steps = new Map([[name, step], ...hook.steps]);
  } else {
    hook.steps.set(name, step);
  }
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
    hook = { original: internals._destroy, steps: new Map(), watchers: null, later: null, bypass: false };
    hooks.set(socket, hook);
    anyHooked = true;
    internals._destroy = hookedDestroy;
  }
  return hook;
}


/** Whether anything watches `socket`'s real close (then a step that takes the descriptor over says how it ends). */
export function closeWatched(socket: SocketInternals): boolean {
  return (hooks.get(socket)?.watchers?.size ?? 0) > 0;
}

/** For a step that took the descriptor over: how the connection ends, for the watchers. */
export function setLaterEnd(socket: SocketInternals, later: Promise<LingerReport>): void {
  const hook = hooks.get(socket);
  if (hook) hook.later = later;
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
  const pending = runSteps(this, handle, hook, [...hook.steps.values()], 0);
  if (!pending) {
    closeNow(this, hook, error, callback);
    return;
  }
  // Deferred: the socket is destroyed but its handle stays open while the steps run. Reads must
  // not reach Node's stream (on a destroyed stream they crash the process), nor its timer fire.
  ensureReadsDropped(handle);
  clearSocketTimer(this);
  void pending.then(() => closeNow(this, hook, error, callback));
}

function closeNow(socket: SocketInternals, hook: Hook, error: Error | null, callback: DestroyCallback): void {
  const handle = socket._handle;
  if (handle && hook.watchers) {
    for (const watcher of hook.watchers.values()) {
      try {
        watcher(socket, handle, hook.later);
      } catch (failure) {
        process.emitWarning(failure as Error, { code: 'SOCKCLOSE_CLOSE_WATCHER' });
      }
    }
  }
  hook.original.call(socket, error, callback);
}

/**
 * Runs `steps` from `index` on; synchronous steps run at once. Returns a promise only when a step
 * returned one (it then settles once every remaining step has).
 */
function runSteps(socket: SocketInternals, handle: NodeHandle, hook: Hook, steps: CloseStep[], index: number): Promise<void> | undefined {
  for (let i = index; i < steps.length; i++) {
    if (hook.bypass) return undefined;
    let outcome: StepOutcome | Promise<StepOutcome>;
    try {
      outcome = steps[i]!(socket, handle);
    } catch (error) {
      stepFailed(error);
      continue;
    }
    if (outcome === true) return undefined;
    if (outcome instanceof Promise) {
      return outcome.then(
        (done) => (done === true ? undefined : runSteps(socket, handle, hook, steps, i + 1)),
        (error: unknown) => {
          stepFailed(error);
          return runSteps(socket, handle, hook, steps, i + 1);
        },
      );
    }
  }
  return undefined;
}

// A step failing must not keep the socket open, nor vanish.
function stepFailed(error: unknown): void {
  process.emitWarning(error as Error, { code: 'SOCKCLOSE_CLOSE_STEP' });
}
