// Runs steps between "Node decided to close this socket" and the real close of its handle, whoever
// asked: user code's destroy(), or http's own timeouts and closeAllConnections(). Used by the
// lingering close (the first step, which decides), the emulated linger (linger.ts), and those who
// look at the real close (the harness's observer, the close audit).
//
// Every net.Socket close ends in `_destroy()`. It is wrapped once, on the prototype, the first time
// anything needs it, not per socket: an own property per socket gives sockets another hidden class
// (slowing Node's own hot paths) and a closure and WeakMap entry per connection, which the
// lingering close under load measurably paid. A socket nothing was asked of pays one WeakMap-free
// check. While steps run the socket is already `destroyed` (reads are dropped, writes refused) but
// its handle, and so its descriptor, stays open: the number cannot be reused under the steps' feet.
// 'close' is emitted only after the real close, as a blocking SO_LINGER close would delay it.
import net from 'node:net';

import type { LingerReport } from './lingering/types.js';
import { clearSocketTimer, ensureReadsDropped, type NodeHandle, type SocketInternals } from './node-handle.js';

/**
 * A step before the real close. Returns (or settles with) `true` when it has decided the close and
 * no later step may run, else nothing. A step that can answer at once does so synchronously: the
 * close then happens in the same tick. A promise must settle, and within its own bounded time.
 */
export type CloseStep = (socket: SocketInternals, handle: NodeHandle) => StepOutcome | Promise<StepOutcome>;
type StepOutcome = boolean | void;

/**
 * The lingering close's decision, asked for every closing socket before any other step: `undefined`
 * when the socket is not its own; `'handed-over'` when the connection went to the native lingerer
 * (Node's close is then not the connection's); `true` when it decided otherwise (no other step runs).
 */
export type FirstStep = (socket: SocketInternals, handle: NodeHandle) => FirstOutcome | Promise<FirstOutcome>;
export type FirstOutcome = boolean | 'handed-over' | undefined;

/**
 * A last look right before the real close: runs once, synchronously, after every step settled (or
 * at once when the close is immediate), with the handle still open. It cannot delay or veto it.
 * When the lingering close took the descriptor over, Node's close is not the connection's: `later`
 * then settles with the linger's report, once the descriptor is really closed.
 */
export type CloseWatcher = (socket: SocketInternals, handle: NodeHandle, later: Promise<LingerReport> | null) => void;

/** Like a {@link CloseWatcher}, for every socket that closes (the close audit picks its own). */
export type CloseLooker = (socket: SocketInternals, handle: NodeHandle | null, handedOver: boolean) => void;

type DestroyCallback = (error?: Error | null) => void;
type Destroy = (this: SocketInternals, error: Error | null, callback: DestroyCallback) => void;

/** What was asked of one socket's close (the emulated linger's step, the observer's watcher). */
interface Hook {
  steps: Map<string, CloseStep>;
  watchers: Map<string, CloseWatcher> | null;
  /** Set by the lingering close when it took the descriptor over: how it ends, later. */
  later: Promise<LingerReport> | null;
  bypass: boolean;
}

const hooks = new WeakMap<SocketInternals, Hook>();
// Until a socket is hooked, no close looks it up.
let anyHooked = false;
let firstStep: FirstStep | null = null;
const lookers: CloseLooker[] = [];
// hardReset() destroys right after asking for the bypass: the one socket whose close skips every step.
let bypassing: SocketInternals | null = null;
let original: Destroy | null = null;

/** Wraps the prototype's `_destroy` (once). */
function install(): void {
  if (original) return;
  const proto = net.Socket.prototype as unknown as { _destroy: Destroy };
  original = proto._destroy;
  proto._destroy = hookedDestroy;
}

/** Sets the lingering close's decision (one per thread; `null` removes it). */
export function setFirstStep(step: FirstStep | null): void {
  install();
  firstStep = step;
}

/** Adds `looker`, called at every socket's real close after every step and watcher. */
export function addCloseLooker(looker: CloseLooker): void {
  install();
  if (!lookers.includes(looker)) lookers.push(looker);
}

/** Adds (or with `null`, removes) the named step for `socket`, after the lingering close's decision. */
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
  install();
  let hook = hooks.get(socket);
  if (!hook) {
    hook = { steps: new Map(), watchers: null, later: null, bypass: false };
    hooks.set(socket, hook);
    anyHooked = true;
  }
  return hook;
}

/** Whether anything watches `socket`'s real close (then the lingering close says how it ends). */
export function closeWatched(socket: SocketInternals): boolean {
  return anyHooked && (hooks.get(socket)?.watchers?.size ?? 0) > 0;
}

/** For the lingering close, when it took the descriptor over: how the connection ends, for the watchers. */
export function setLaterEnd(socket: SocketInternals, later: Promise<LingerReport>): void {
  const hook = anyHooked ? hooks.get(socket) : undefined;
  if (hook) hook.later = later;
}

/** Makes the next close of `socket` immediate: for hardReset(), which must not wait for anything. */
export function bypassCloseSteps(socket: SocketInternals): void {
  if (!original) return;
  bypassing = socket;
  const hook = anyHooked ? hooks.get(socket) : undefined;
  if (hook) hook.bypass = true;
}

/** Whether `socket`'s coming close was asked to skip every step (hardReset). */
export function closeBypassed(socket: SocketInternals): boolean {
  return bypassing === socket;
}

function hookedDestroy(this: SocketInternals, error: Error | null, callback: DestroyCallback): void {
  const hook = anyHooked ? hooks.get(this) : undefined;
  const handle = this._handle;
  const bypass = bypassing === this || hook?.bypass === true;
  if (bypassing === this) bypassing = null;
  if (bypass || !handle) {
    closeNow(this, handle, hook, false, error, callback);
    return;
  }
  let decided: FirstOutcome | Promise<FirstOutcome>;
  try {
    decided = firstStep ? firstStep(this, handle) : undefined;
  } catch (failure) {
    stepFailed(failure);
    decided = undefined;
  }
  if (decided instanceof Promise) {
    defer(this, handle);
    void decided
      .then(
        async (outcome): Promise<FirstOutcome> => {
          if (outcome === true || outcome === 'handed-over') return outcome;
          await runHookSteps(this, handle, hook);
          return undefined;
        },
        async (failure: unknown): Promise<FirstOutcome> => {
          stepFailed(failure);
          await runHookSteps(this, handle, hook);
          return undefined;
        },
      )
      .then((outcome) => closeNow(this, this._handle, hook, outcome === 'handed-over', error, callback));
    return;
  }
  if (decided === true || decided === 'handed-over') {
    closeNow(this, handle, hook, decided === 'handed-over', error, callback);
    return;
  }
  const pending = runHookSteps(this, handle, hook);
  if (!pending) {
    closeNow(this, handle, hook, false, error, callback);
    return;
  }
  defer(this, handle);
  void pending.then(() => closeNow(this, this._handle, hook, false, error, callback));
}

// Deferred: the socket is destroyed but its handle stays open while the steps run. Reads must not
// reach Node's stream (on a destroyed stream they crash the process), nor its timer fire.
function defer(socket: SocketInternals, handle: NodeHandle): void {
  ensureReadsDropped(handle);
  clearSocketTimer(socket);
}

function runHookSteps(socket: SocketInternals, handle: NodeHandle, hook: Hook | undefined): Promise<void> | undefined {
  if (!hook || hook.steps.size === 0) return undefined;
  return runSteps(socket, handle, hook, [...hook.steps.values()], 0);
}

function closeNow(
  socket: SocketInternals,
  handle: NodeHandle | null,
  hook: Hook | undefined,
  handedOver: boolean,
  error: Error | null,
  callback: DestroyCallback,
): void {
  if (handle && hook?.watchers) {
    for (const watcher of hook.watchers.values()) {
      try {
        watcher(socket, handle, handedOver ? hook.later : null);
      } catch (failure) {
        process.emitWarning(failure as Error, { code: 'SOCKCLOSE_CLOSE_WATCHER' });
      }
    }
  }
  for (const looker of lookers) {
    try {
      looker(socket, handle, handedOver);
    } catch (failure) {
      process.emitWarning(failure as Error, { code: 'SOCKCLOSE_CLOSE_WATCHER' });
    }
  }
  original!.call(socket, error, callback);
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
