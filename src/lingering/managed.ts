// Puts one socket under lingering close: whoever destroys it (user code, Node's http server, a
// timeout, autoDestroy), the close goes through the linger.
//
// Two hooks, because destroy() has two halves:
// - before Node marks the socket destroyed (a wrapper around this socket's destroy()): from then
//   on drop whatever is read; end() the socket, so Node hands libuv its shutdown behind the writes
//   already queued and, on TLS, sends close_notify first; stop the socket's timer, which would
//   otherwise fire during the linger.
// - after (a close step, src/close-hook.ts): the socket is destroyed, its descriptor still open;
//   the drain runs there and the real close happens when it is done.

import { setCloseStep } from '../close-hook.js';
import { publishLingerEnd } from '../diagnostics/channels.js';
import { binding, record } from '../native/binding.js';
import { Field, Slot } from '../native/layout.js';
import type { NodeHandle, SocketInternals } from '../target.js';
import { drain } from './drain.js';
import { detachHttpParser, dropReads, inputEnded, nodeResetInProgress, transportKind, type ReadSink } from '../node-handle.js';
import type { LingerSettings } from './options.js';
import type { LingerPool } from './pool.js';
import type { LingerReport } from './types.js';

const STEP = 'lingering-close';
const TIMEOUT_REASONS = new Set<LingerReport['reason']>(['idle-timeout', 'max-timeout', 'drain-limit']);

type Destroy = (this: SocketInternals, ...args: unknown[]) => SocketInternals;
type ReportListener = (report: LingerReport, socket: SocketInternals) => void;

/** Who a socket's lingering close answers to: its server's switch, pool and listener. */
export interface Owner {
  /** False once the server's lingering close was undone: its sockets then close as Node does. */
  active: boolean;
  pool: LingerPool;
  onReport: ReportListener | null;
}

/** A socket's lingering-close state; also where its dropped reads are reported. */
class Managed implements ReadSink {
  /** When the lingering close began, if before destroy() (lingeringClose() flushes first). */
  startedAt: number | null = null;
  /** Our destroy() wrapper ran for this close. */
  prepared = false;
  /** An abortive close was asked for (hardReset, resetAndDestroy, SO_LINGER {1, 0}): no linger. */
  abortive = false;
  /** Node had handed the kernel our FIN ('finish') before destroy(). */
  finSent = false;
  /** SO_LINGER was read before destroy() (and was not abortive). */
  lingerChecked = false;
  /** Node's stream had seen the end of input before destroy(). */
  inputEnded = false;
  /** The drain, once running: told of every read. */
  reader: ReadSink | null = null;
  report: LingerReport | null = null;

  constructor(
    public owner: Owner,
    public settings: LingerSettings,
    readonly previousDestroy: Destroy,
  ) {}

  onRead(end: boolean): void {
    this.reader?.onRead(end);
  }
}

// In a WeakMap rather than on the socket: one more property on every socket gives sockets a
// different hidden class, which measurably slowed Node's own hot paths (event listener removal in
// the http server) in bench:linger-throughput.
const managed = new WeakMap<SocketInternals, Managed>();

/** Puts `socket` under lingering close (or, if it already is, gives it these owner and settings). */
export function manage(socket: SocketInternals, owner: Owner, settings: LingerSettings): void {
  const existing = managed.get(socket);
  if (existing) {
    existing.owner = owner;
    existing.settings = settings;
    return;
  }
  managed.set(socket, new Managed(owner, settings, socket.destroy as Destroy));
  // An own property, as Node's http server does for socket.on: the prototype stays untouched.
  socket.destroy = lingeringDestroy as typeof socket.destroy;
  setCloseStep(socket, STEP, lingerStep);
}

/**
 * Prepares a direct lingeringClose() of `socket`: a server's socket keeps its owner and takes these
 * settings over the server's; any other gets `owner`. Marks the linger's start (it flushes before
 * destroy(), and the total timeout counts from here). Returns the settings.
 */
export function manageDirect(
  socket: SocketInternals,
  settingsFrom: (base: LingerSettings | undefined) => LingerSettings,
  owner: () => Owner,
): LingerSettings {
  let state = managed.get(socket);
  if (state?.owner.active) state.settings = settingsFrom(state.settings);
  else {
    manage(socket, owner(), settingsFrom(undefined));
    state = managed.get(socket)!;
  }
  state.startedAt ??= performance.now();
  return state.settings;
}

/** The report of a socket whose lingering close has ended, if any. */
export function reportOf(socket: SocketInternals): LingerReport | null {
  return managed.get(socket)?.report ?? null;
}

/** The socket's destroy(), under lingering close: prepares the linger, then destroys as before. */
function lingeringDestroy(this: SocketInternals, ...args: unknown[]): SocketInternals {
  const state = managed.get(this);
  if (!state) return (Object.getPrototypeOf(this) as { destroy: Destroy }).destroy.apply(this, args);
  if (state.owner.active && !this.destroyed && this._handle) beforeDestroy(this, this._handle, state);
  return state.previousDestroy.apply(this, args);
}

function beforeDestroy(socket: SocketInternals, handle: NodeHandle, state: Managed): void {
  state.prepared = true;
  if (nodeResetInProgress(socket)) {
    state.abortive = true;
    return;
  }
  // From here on nothing read may reach Node's stream (see node-handle.ts).
  dropReads(handle, state);
  state.inputEnded = inputEnded(socket);
  if (socket.timeout) socket.setTimeout(0);
  if (socket.writable && !socket.connecting) {
    // end() sends TLS close_notify at once: not before a reset that hardReset() or
    // setLinger(socket, 0) asked for (both set SO_LINGER {1, 0}). A socket already ended (http's
    // destroySoon()) has its SO_LINGER read by the drain's first look instead: one syscall less
    // on the common path.
    if (abortiveLingerSet(handle)) {
      state.abortive = true;
      return;
    }
    state.lingerChecked = true;
    socket.end();
  }
  state.finSent = socket.writableFinished;
}

/** Whether SO_LINGER {1, 0} is set on the live descriptor: the close must reset. */
function abortiveLingerSet(handle: NodeHandle): boolean {
  const native = binding();
  if (!native || !(handle.fd >= 0) || native.probe(handle.fd, Field.linger) < 0) return false;
  return record[Slot.lingerEnabled] === 1 && record[Slot.lingerSeconds] === 0;
}

async function lingerStep(socket: SocketInternals, handle: NodeHandle): Promise<void> {
  const state = managed.get(socket);
  if (!state || !state.owner.active) return;
  // Destroyed without our destroy() wrapper (a caller holding the prototype's): decide here.
  if (!state.prepared) {
    state.prepared = true;
    state.abortive = nodeResetInProgress(socket);
    if (!state.abortive) dropReads(handle, state);
    state.inputEnded = true; // unknown: make the drain look first (and read SO_LINGER then)
  }
  const transport = transportKind(handle);
  if (state.abortive || transport === null || !(handle.fd >= 0)) return;

  const { pool } = state.owner;
  const startedAt = state.startedAt ?? performance.now();
  const admission = pool.admit();
  if (admission === 'refused') {
    deliver(socket, state, {
      reason: 'overload',
      drainedBytes: 0,
      durationMs: performance.now() - startedAt,
      closedWith: 'close',
      error: null,
      shortened: false,
    });
    return;
  }
  let report: LingerReport;
  try {
    const short = admission === 'short';
    const settings = short ? shorten(state.settings, pool.limits.shortLingerTimeout) : state.settings;
    detachHttpParser(socket);
    const outcome = await drain({
      handle,
      transport,
      settings,
      startedAt,
      lookFirst: state.inputEnded,
      finSent: state.finSent,
      lingerChecked: state.lingerChecked,
      attach: (reader) => (state.reader = reader),
    });
    if (outcome.reason === 'abortive') return;
    let closedWith: LingerReport['closedWith'] = 'close';
    if (TIMEOUT_REASONS.has(outcome.reason) && settings.onTimeout === 'reset' && setAbortive(handle)) closedWith = 'reset';
    report = {
      reason: outcome.reason,
      drainedBytes: outcome.drainedBytes,
      durationMs: performance.now() - startedAt,
      closedWith,
      error: outcome.error,
      shortened: short,
    };
  } finally {
    state.reader = null;
    pool.release();
  }
  deliver(socket, state, report);
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
  return native !== null && handle.fd >= 0 && native.setLinger(handle.fd, 0) >= 0;
}

function deliver(socket: SocketInternals, state: Managed, report: LingerReport): void {
  state.report = report;
  state.owner.pool.record(report);
  publishLingerEnd(report, socket);
  const listener = state.owner.onReport;
  if (!listener) return;
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
