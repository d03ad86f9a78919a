// The lingering close of one socket: whoever closes it (user code, Node's http server, a timeout,
// autoDestroy), the close goes through the linger, and the linger itself runs in native code
// (native/lingerer.h). What stays in JavaScript is what only Node's objects can tell:
//
// - its half-close (our FIN is out, the peer's is not in): the close has begun. Node still reads
//   for the application, so the socket stays Node's, but it is counted in its pool and bounded by
//   the idle and total timeouts (the half-closed watch, on the shared clock).
// - before destroy(): from then on drop whatever is read; end() the socket, so Node hands libuv its
//   shutdown behind the writes already queued and, on TLS, sends close_notify first.
// - after (the close hook's first step, src/close-hook.ts): the socket is destroyed, its descriptor
//   still open. Once libuv has handed the kernel every queued byte (the flush: usually already
//   so), the descriptor goes to the native lingerer and Node closes its own copy at once: 'close'
//   is emitted then, and the socket's memory is free while the connection lingers.
//
// Sockets are reached through hooks on the prototype (hooks.ts), not per socket: a server's socket
// has no state here until its close begins, and on the common path (destroy() with nothing left
// to flush) none that outlives that close.

import { closeWatched, setLaterEnd, type FirstOutcome } from '../close-hook.js';
import { lingerEndSubscribed, publishLingerEnd } from '../diagnostics/channels.js';
import { systemError } from '../errors.js';
import { binding, record } from '../native/binding.js';
import { Field, Slot } from '../native/layout.js';
import { platform } from '../platform/index.js';
import type { NodeHandle, SocketInternals } from '../target.js';
import {
  detachHttpParser,
  dropReads,
  inputEnded,
  nodeResetInProgress,
  queuedWriteBytes,
  startReading,
  transportBytesRead,
  transportKind,
  type ReadSink,
} from '../node-handle.js';
import { handOver, type ReportConsumer } from './native-lingerer.js';
import type { LingerSettings } from './options.js';
import type { Admission } from './pool.js';
import { serverEntryOf, type Owner } from './servers.js';
import { unwatch, watch, type Ticking } from './ticker.js';
import type { LingerEndReason, LingerReport } from './types.js';

export type { Owner } from './servers.js';

// While libuv still writes (before the hand-over), poll its queue: no event says "written".
const FLUSH_POLL_FIRST_MS = 1;
const FLUSH_POLL_MAX_MS = 50;

/** Node's `Socket.prototype.destroy`, as the prototype hook (hooks.ts) hands it over. */
export type Destroy = (this: SocketInternals, error?: Error | null, callback?: (error: Error | null) => void) => SocketInternals;
type ReportListener = (report: LingerReport, socket: SocketInternals) => void;
type Timeout = 'idle-timeout' | 'max-timeout';

/** A socket's lingering-close state; also where its dropped reads are reported. */
class Managed implements ReadSink, Ticking {
  /** When the close began (its half-close, lingeringClose(), or destroy()): the total cap counts from here. */
  startedAt: number | null = null;
  /** The place taken in the pool, once the close began. */
  admission: Admission | null = null;
  /** Our destroy() wrapper ran for this close. */
  prepared = false;
  /** An abortive close was asked for (hardReset, resetAndDestroy, SO_LINGER {1, 0}): no linger. */
  abortive = false;
  /** Node had handed the kernel our FIN ('finish') before destroy(). */
  finSent = false;
  /** SO_LINGER was read before destroy() and is off. */
  lingerChecked = false;
  /** Node's stream (or a dropped read) saw the end of input. */
  inputEnded = false;
  /** The half-closed watch ran out: the close must end as a timed-out linger does. */
  expired: Timeout | null = null;
  /** lingeringClose()'s promise, waiting for the report. */
  consumer: ReportConsumer | null = null;
  /** The linger went to the native lingerer (its report comes from there). */
  handedOver = false;
  /** An end decided here (overload, a timeout before the hand-over). */
  report: LingerReport | null = null;
  // The half-closed watch (Ticking): the socket, while watched.
  wakeAt = Number.POSITIVE_INFINITY;
  watched = false;
  private halfClosed: SocketInternals | null = null;
  private lastProgressAt = 0;
  private progress = 0;

  constructor(
    public owner: Owner,
    public settings: LingerSettings,
  ) {}

  onRead(end: boolean): void {
    if (end) this.inputEnded = true;
  }

  /** Begins the close at our half-close: counted from now, bounded by the timeouts. */
  watchHalfClose(socket: SocketInternals): void {
    this.startedAt ??= performance.now();
    this.admission = this.owner.pool.admit();
    if (this.admission === 'refused') {
      socket.destroy();
      return;
    }
    this.halfClosed = socket;
    // The baseline: what the first look at the deadline compares with (taken there, it would count
    // as progress and give a silent peer a second idle timeout).
    this.progress = progressOf(socket);
    this.lastProgressAt = this.startedAt;
    this.wakeAt = Math.min(this.startedAt + this.limits().idleTimeout, this.startedAt + this.limits().maxTimeout);
    watch(this);
  }

  stopWatching(): void {
    if (!this.halfClosed) return;
    this.halfClosed = null;
    unwatch(this);
  }

  onTick(now: number): void {
    const socket = this.halfClosed;
    if (!socket || socket.destroyed) {
      this.stopWatching();
      return;
    }
    const { idleTimeout, maxTimeout } = this.limits();
    const deadline = this.startedAt! + maxTimeout;
    if (now >= deadline) return this.expire(socket, 'max-timeout');
    const progress = progressOf(socket);
    if (progress !== this.progress) {
      this.progress = progress;
      this.lastProgressAt = now;
    }
    if (now >= this.lastProgressAt + idleTimeout) return this.expire(socket, 'idle-timeout');
    this.wakeAt = Math.min(deadline, this.lastProgressAt + idleTimeout);
  }

  /** The settings this close runs under (a short linger's, when admitted short). */
  limits(): LingerSettings {
    return this.admission === 'short' ? shorten(this.settings, this.owner.pool.limits.shortLingerTimeout) : this.settings;
  }

  private expire(socket: SocketInternals, reason: Timeout): void {
    this.stopWatching();
    this.expired = reason;
    socket.destroy();
  }
}

// Only sockets whose state outlives a call: direct lingeringClose() calls and half-closed sockets.
const managed = new WeakMap<SocketInternals, Managed>();
// The state destroy() prepared, for the close step that runs inside that same destroy() (Node calls
// _destroy() synchronously): the common close keeps nothing in the WeakMap.
let preparingSocket: SocketInternals | null = null;
let preparing: Managed | null = null;

/**
 * Prepares a direct lingeringClose() of `socket`: a socket of a lingering server keeps its owner
 * and takes these settings over the server's; any other gets `owner`. Marks the close's start (it
 * flushes before destroy(), and the total timeout counts from here). Returns the socket's state.
 */
export function manageDirect(
  socket: SocketInternals,
  settingsFrom: (base: LingerSettings | undefined) => LingerSettings,
  owner: () => Owner,
): Managed {
  let state = managed.get(socket);
  if (state?.owner.active) {
    state.settings = settingsFrom(state.settings);
  } else if (state) {
    state.owner = owner();
    state.settings = settingsFrom(undefined);
  } else {
    const entry = serverEntryOf(socket);
    state = entry?.owner.active ? new Managed(entry.owner, settingsFrom(entry.settings)) : new Managed(owner(), settingsFrom(undefined));
    managed.set(socket, state);
  }
  state.startedAt ??= performance.now();
  return state;
}

/** The socket's lingering-close state, kept or new, if its close is ours to decide. */
function stateOf(socket: SocketInternals): Managed | undefined {
  const kept = managed.get(socket);
  if (kept !== undefined) return kept;
  const entry = serverEntryOf(socket);
  return entry?.owner.active ? new Managed(entry.owner, entry.settings) : undefined;
}

/**
 * Our FIN is out (Node's shutdown completed, and 'finish' was emitted, with whatever its listeners
 * did): if the socket is still open and the peer's FIN not in, the close has begun.
 */
export function afterOurFin(socket: SocketInternals): void {
  if (socket.destroyed || inputEnded(socket)) return;
  const state = stateOf(socket);
  if (state === undefined || !state.owner.active || state.admission !== null) return;
  // Kept from now on: the close that follows (destroy(), the watch's timeout) finds it.
  managed.set(socket, state);
  state.watchHalfClose(socket);
}

/** An abortive close skips the linger (hardReset()): a close that had begun gives its place back. */
export function abandonClose(socket: SocketInternals): void {
  const state = managed.get(socket);
  if (state === undefined) return;
  state.stopWatching();
  if (state.admission !== null && state.admission !== 'refused') state.owner.pool.release();
  state.admission = null;
  state.abortive = true;
}

/**
 * Node's destroy() of a live socket, under lingering close if the socket is ours: prepares the
 * linger, then destroys as Node does (`destroy`, the prototype's own).
 */
export function destroyLingering(socket: SocketInternals, handle: NodeHandle, destroy: Destroy, error?: Error | null, callback?: (error: Error | null) => void): SocketInternals {
  const state = stateOf(socket);
  if (state === undefined) return destroy.call(socket, error, callback);
  if (state.owner.active || state.admission !== null) beforeDestroy(socket, handle, state);
  const outerSocket = preparingSocket;
  const outer = preparing;
  preparingSocket = socket;
  preparing = state;
  try {
    return destroy.call(socket, error, callback);
  } finally {
    preparingSocket = outerSocket;
    preparing = outer;
  }
}

function beforeDestroy(socket: SocketInternals, handle: NodeHandle, state: Managed): void {
  state.prepared = true;
  if (nodeResetInProgress(socket)) {
    state.abortive = true;
    return;
  }
  // Reads are redirected only if the hand-over has to wait (flushThenHandOver): otherwise Node's
  // handle closes in this same tick, before any read can come.
  state.inputEnded = inputEnded(socket);
  if (socket.timeout) socket.setTimeout(0);
  if (socket.writable && !socket.connecting && state.expired === null) {
    // end() sends TLS close_notify at once: not before a reset that hardReset() or
    // setLinger(socket, 0) asked for (both set SO_LINGER {1, 0}). A socket already ended (http's
    // destroySoon()) has its SO_LINGER read by the native lingerer instead: one syscall less on
    // the common path.
    const linger = lingerOf(handle);
    if (linger === 'abortive') {
      state.abortive = true;
      return;
    }
    state.lingerChecked = linger === 'off';
    socket.end();
  }
  state.finSent = socket.writableFinished;
}

/**
 * A half-closed socket's progress, as a number that changes when there is some: bytes the
 * application still reads, and bytes of ours the peer acknowledges (not our FIN: its
 * acknowledgement, often a delayed ACK, says nothing of the peer and would restart a silent
 * peer's idle timeout).
 */
function progressOf(socket: SocketInternals): number {
  const handle = socket._handle;
  const native = binding();
  let queued = handle && native && handle.fd >= 0 && native.probe(handle.fd, Field.queues) >= 0 ? record[Slot.sendQueue]! : 0;
  if (queued > 0 && platform().sendQueueCountsFin) queued -= 1;
  return socket.bytesRead - queued;
}

/** SO_LINGER on the live descriptor: {1, 0} (the close must reset), off, or something else. */
function lingerOf(handle: NodeHandle): 'abortive' | 'off' | 'other' {
  const native = binding();
  if (!native || !(handle.fd >= 0) || native.probe(handle.fd, Field.linger) < 0) return 'other';
  if (record[Slot.lingerEnabled] === 0) return 'off';
  return record[Slot.lingerSeconds] === 0 ? 'abortive' : 'other';
}

/**
 * The close hook's first step, for every closing socket: `undefined` if its close is not ours;
 * else how the close ends (`true`: decided here; `'handed-over'`: the native lingerer has it).
 */
export function lingerStep(socket: SocketInternals, handle: NodeHandle): FirstOutcome | Promise<FirstOutcome> {
  const state = preparingSocket === socket ? preparing! : stateOf(socket);
  if (state === undefined) return undefined;
  state.stopWatching();
  // A server that undid lingering close lets its sockets close as Node does, unless their close
  // had begun (they finish their bounded linger).
  if (!state.owner.active && state.admission === null) return undefined;
  // Destroyed without our destroy() wrapper (a caller holding the prototype's): decide here.
  if (!state.prepared) {
    state.prepared = true;
    state.abortive = nodeResetInProgress(socket);
    state.inputEnded = inputEnded(socket);
  }
  const { pool } = state.owner;
  if (state.abortive || transportKind(handle) === null || !(handle.fd >= 0)) {
    if (state.admission !== null && state.admission !== 'refused') pool.release();
    return state.abortive || undefined;
  }
  const startedAt = (state.startedAt ??= performance.now());
  state.admission ??= pool.admit();
  if (state.admission === 'refused') {
    pool.count('overload', 0, false);
    deliver(socket, state, endReport('overload', startedAt, false, null, false));
    return true;
  }
  if (state.expired) return endHere(socket, handle, state, state.expired);
  if (queuedWriteBytes(handle) > 0) return flushThenHandOver(socket, handle, state);
  return handOverNow(socket, handle, state);
}

/** Libuv still holds bytes of ours: wait until they are in the kernel, within the linger's bounds. */
async function flushThenHandOver(socket: SocketInternals, handle: NodeHandle, state: Managed): Promise<FirstOutcome> {
  const { idleTimeout, maxTimeout } = state.limits();
  const deadline = state.startedAt! + maxTimeout;
  // Meanwhile nothing read may reach Node's stream or its http parser (see node-handle.ts), and
  // libuv keeps reading (and dropping): a peer blocked on a full window reads nothing of ours.
  dropReads(handle, state);
  detachHttpParser(socket);
  startReading(handle);
  const firstByte = transportBytesRead(handle) ?? 0;
  let queued = queuedWriteBytes(handle);
  let lastProgressAt = performance.now();
  for (let delay = FLUSH_POLL_FIRST_MS; queued > 0; delay = Math.min(delay * 2, FLUSH_POLL_MAX_MS)) {
    const now = performance.now();
    if (now >= deadline) return endHere(socket, handle, state, 'max-timeout');
    if (now >= lastProgressAt + idleTimeout) return endHere(socket, handle, state, 'idle-timeout');
    await new Promise((wake) => setTimeout(wake, Math.max(1, Math.min(delay, deadline - now, lastProgressAt + idleTimeout - now))));
    if (handle.fd < 0) return endHere(socket, handle, state, 'max-timeout');
    const left = queuedWriteBytes(handle);
    if (left < queued) lastProgressAt = performance.now();
    queued = left;
  }
  return handOverNow(socket, handle, state, (transportBytesRead(handle) ?? 0) - firstByte);
}

function handOverNow(socket: SocketInternals, handle: NodeHandle, state: Managed, drainedBytes = 0): FirstOutcome {
  const settings = state.limits();
  const startedAt = state.startedAt!;
  const elapsedMs = performance.now() - startedAt;
  if (elapsedMs >= settings.maxTimeout) return endHere(socket, handle, state, 'max-timeout');
  const shortened = state.admission === 'short';
  const result = handOver(
    {
      fd: handle.fd,
      pool: state.owner.pool,
      settings,
      drainedBytes,
      elapsedMs,
      finSent: state.finSent || socket.writableFinished,
      lingerChecked: state.lingerChecked,
      inputEnded: state.inputEnded,
    },
    consumerFor(socket, state, shortened),
  );
  if (result === 'lingering') {
    state.handedOver = true;
    return 'handed-over';
  }
  if (result === 'abortive') {
    // SO_LINGER {1, 0}, set after our last look: Node's close resets, as asked. No report.
    state.owner.pool.release();
    state.abortive = true;
    return true;
  }
  // No descriptor for the lingerer (EMFILE, ENFILE) or the connection is gone: no linger, counted.
  state.owner.pool.finish('overload', 0, false);
  deliver(socket, state, endReport('overload', startedAt, false, systemError(result, 'dup', lingeringCloseStep), shortened));
  return true;
}

/** Ends the close in JavaScript as a linger ending with `reason` would (a timeout before the hand-over). */
function endHere(socket: SocketInternals, handle: NodeHandle, state: Managed, reason: Timeout): true {
  const reset = state.limits().onTimeout === 'reset' && setAbortive(handle);
  state.owner.pool.finish(reason, 0, reset);
  deliver(socket, state, endReport(reason, state.startedAt!, reset, null, state.admission === 'short'));
  return true;
}

/** Who receives the native report: only built when somebody waits for it (else nothing is kept). */
function consumerFor(socket: SocketInternals, state: Managed, shortened: boolean): ReportConsumer | null {
  const waiting = state.consumer;
  const listener = state.owner.onReport;
  let watched: ((report: LingerReport) => void) | null = null;
  // The close's watchers (the harness's observer) learn how the connection really ended.
  if (closeWatched(socket)) setLaterEnd(socket, new Promise((resolve) => (watched = resolve)));
  // sockclose:linger:end subscribers (the close audit) get the report with its socket.
  const published = lingerEndSubscribed();
  if (!waiting && !listener && !watched && !published) return null;
  return (report) => {
    report.shortened = shortened;
    state.report = report;
    waiting?.(report);
    if (listener) callListener(listener, report, socket);
    (watched as ((report: LingerReport) => void) | null)?.(report);
    if (published) publishLingerEnd(report, socket);
  };
}

function endReport(reason: LingerEndReason, startedAt: number, reset: boolean, error: Error | null, shortened: boolean): LingerReport {
  return { reason, drainedBytes: 0, durationMs: performance.now() - startedAt, closedWith: reset ? 'reset' : 'close', error, shortened };
}

function shorten(settings: LingerSettings, total: number): LingerSettings {
  return {
    ...settings,
    maxTimeout: Math.min(settings.maxTimeout, total),
    idleTimeout: Math.min(settings.idleTimeout, total),
  };
}

/** SO_LINGER {1, 0} on the live descriptor, so that the close that follows sends RST. */
function setAbortive(handle: NodeHandle): boolean {
  const native = binding();
  return native !== null && handle.fd >= 0 && native.lingerAbortive(handle.fd) >= 0;
}

function deliver(socket: SocketInternals, state: Managed, report: LingerReport): void {
  state.report = report;
  state.consumer?.(report);
  publishLingerEnd(report, socket);
  const listener = state.owner.onReport;
  if (listener) callListener(listener, report, socket);
}

function callListener(listener: ReportListener, report: LingerReport, socket: SocketInternals): void {
  try {
    listener(report, socket);
  } catch (error) {
    // A throwing listener is the application's bug: surface it as an event listener's would be,
    // without keeping this socket from closing.
    process.nextTick(() => {
      throw error;
    });
  }
}

// Names the lingering close in system errors raised on its behalf.
function lingeringCloseStep(): void {}
Object.defineProperty(lingeringCloseStep, 'name', { value: 'lingeringClose' });
