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
import { errno } from '../errno.js';
import { pendingSocketError, systemError, type SystemError } from '../errors.js';
import { binding, record } from '../native/binding.js';
import { Field, Revents, Slot, State } from '../native/layout.js';
import { kernelPeerEnd } from '../inspect-socket.js';
import { abortiveLingerMarked } from '../linger-marks.js';
import { platform } from '../platform/index.js';
import type { NodeHandle, SocketInternals } from '../target.js';
import type { Transport } from '../platform/behaviour.js';
import {
  detachHttpParser,
  dropReads,
  http2Transport,
  httpExchangeDone,
  httpInputAbandoned,
  inputDiscarded,
  inputEnded,
  nodeResetInProgress,
  queuedWriteBytes,
  resetThroughClose,
  startReading,
  stopReading,
  tlsParentStream,
  transportBytesHanded,
  transportBytesRead,
  transportKind,
  unwrittenBytes,
  type ReadSink,
} from '../node-handle.js';
import { claim, claimForServerClose } from './claims.js';
import { cutLinger, cutPool, handOver, type ReportConsumer } from './native-lingerer.js';
import type { LingerSettings } from './options.js';
import type { Admission } from './pool.js';
import { serverEntryOf, type Owner } from './servers.js';
import { forEachWatched, unwatch, watch, type Ticking } from './ticker.js';
import type { LingerEndReason, LingerErrorReport, LingerOverloadReport, LingerReport, LingerTimeoutReport } from './types.js';
import { clockNow } from './clock.js';

export type { Owner } from './servers.js';

// While libuv still writes (before the hand-over), poll its queue: no event says "written".
const FLUSH_POLL_FIRST_MS = 1;
const FLUSH_POLL_MAX_MS = 50;
// Looks per idle timeout while progress could still show (see Managed.nextLook).
const LOOKS_PER_IDLE = 8;
// The send queue, with the one getsockopt a probe needs to trust an ioctl (not describe's three).
const QUEUE_FIELDS = Field.linger | Field.queues;

/** Node's `Socket.prototype.destroy`, as the prototype hook (hooks.ts) hands it over. */
export type Destroy = (this: SocketInternals, error?: Error | null, callback?: (error: Error | null) => void) => SocketInternals;
type ReportListener = (report: LingerReport, socket: SocketInternals) => void;
type Timeout = 'idle-timeout' | 'max-timeout';
/** How a close can end before the hand-over, as a timed-out linger ends. */
type EarlyEnd = Timeout | 'drain-limit' | 'aborted';

/** A socket's lingering-close state; also where its dropped reads are reported. */
export class Managed implements ReadSink, Ticking {
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
  /** The half-closed watch or the flush ran out: the close must end as a timed-out linger does. */
  expired: EarlyEnd | null = null;
  /** Bytes read and dropped before the hand-over, by flushes that ended. */
  drainedBytes = 0;
  /** The flush running now, if any. */
  flush: Flush | null = null;
  /** destroy() came with a system error of the socket's own I/O: no connection left to linger on. */
  failed: SystemError | null = null;
  /** lingeringClose()'s promise, waiting for the report. */
  consumer: ReportConsumer | null = null;
  /** The linger went to the native lingerer (its report comes from there). */
  handedOver = false;
  /** Its name there, once handed over (for {@link Managed.abort}); -1 before. */
  token = -1;
  /** An end decided here (overload, a timeout before the hand-over). */
  report: LingerReport | null = null;
  /**
   * destroy() came while Node still held bytes: the close step waits for the flush, and Node's
   * real close follows its promise, a few microtasks after the end is decided. A report decided
   * then is delivered after it (deliver()), as "resolves once the descriptor is closed" promises.
   */
  closesLater = false;
  /**
   * When the close last saw progress (a byte read, one of ours acknowledged), half-closed or
   * flushing; null before either stage. The idle timeout is one clock across the stages: the
   * native lingerer is told how much of it was spent before the hand-over.
   */
  lastProgressAt: number | null = null;
  // The half-closed watch (Ticking): the socket, while watched.
  wakeAt = Number.POSITIVE_INFINITY;
  watched = false;
  private halfClosed: SocketInternals | null = null;
  // The half-closed socket whose input nobody reads, while its chunks are counted (onDiscarded).
  private discarding: SocketInternals | null = null;
  private onDiscarded: ((chunk: Buffer | string) => void) | null = null;
  // What the last look saw: bytes the application had read, and our bytes in the kernel's send
  // queue (-1: unknown). Progress is either growing or the queue shrinking, never the queue growing.
  private bytesSeen = 0;
  private queueSeen = -1;

  constructor(
    public owner: Owner,
    public settings: LingerSettings,
  ) {}

  onRead(end: boolean): void {
    if (end) this.inputEnded = true;
  }

  /**
   * Begins the close at our half-close: counted from now, bounded by the timeouts. `discarded`:
   * nobody reads the socket's input (inputDiscarded(), asked once, by the caller).
   */
  watchHalfClose(socket: SocketInternals, discarded: boolean): void {
    this.startedAt ??= clockNow();
    this.admission = this.owner.pool.admit();
    if (this.admission === 'refused') {
      socket.destroy();
      return;
    }
    this.halfClosed = socket;
    // Nobody reads its input (http2's graceful close: resume() into no listener, until the peer's
    // FIN): Node reads, decrypts and throws away whatever the peer sends. That is a drain, ours to
    // bound and count as the native lingerer's is: unbounded, a peer flooding after GOAWAY had 8 GB
    // read under a 1 MiB maxDrainBytes in 5 s, reported as drainedBytes 0. The socket already
    // flows, so a listener changes nothing of its flow.
    if (discarded) {
      this.discarding = socket;
      socket.on('data', (this.onDiscarded ??= (chunk) => this.discarded(chunk)));
    }
    // The baseline, taken now: taken at the first look, it would count as progress and give a
    // silent peer a second idle timeout.
    this.bytesSeen = socket.bytesRead;
    this.queueSeen = sendQueueOf(socket._handle);
    this.lastProgressAt = this.startedAt;
    this.wakeAt = this.nextLook(this.startedAt);
    watch(this);
  }

  stopWatching(): void {
    if (!this.halfClosed) return;
    this.halfClosed = null;
    unwatch(this);
    if (this.discarding !== null) this.discarding.off('data', this.onDiscarded!);
    this.discarding = null;
  }

  /** A chunk read while half-closed, on a socket whose input nobody reads: dropped, counted, bounded. */
  private discarded(chunk: Buffer | string): void {
    const socket = this.discarding;
    // The application listens now: what it reads is its own, not drained.
    if (socket === null || socket.listenerCount('data') > 1) return;
    this.drainedBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (this.drainedBytes > this.limits().maxDrainBytes) this.expire(socket, 'drain-limit');
  }

  /**
   * Ends the half-closed watch with a last look (the close goes on: flush, hand-over): progress
   * since the previous look is dated now, so the idle clock carried on is never early.
   */
  endHalfClose(handle: NodeHandle): void {
    const socket = this.halfClosed;
    if (!socket) return;
    if (this.progressed(socket, handle)) this.lastProgressAt = clockNow();
    this.stopWatching();
  }

  onTick(now: number): void {
    const socket = this.halfClosed;
    if (!socket || socket.destroyed) {
      this.stopWatching();
      return;
    }
    if (this.owner.aborted) return this.expire(socket, 'aborted');
    const { idleTimeout, maxTimeout } = this.limits();
    if (now >= this.startedAt! + maxTimeout) return this.expire(socket, 'max-timeout');
    if (this.progressed(socket)) this.lastProgressAt = now;
    if (now >= this.lastProgressAt! + idleTimeout) return this.expire(socket, 'idle-timeout');
    this.wakeAt = this.nextLook(now);
  }

  /**
   * When to look next: the deadlines, and, while progress could show (the application may read;
   * bytes of ours may be acknowledged), a look every idleTimeout / 8. A progress is dated by the
   * look that sees it: looking only at the idle deadline would hold a peer that stopped right
   * after one up to two idle timeouts.
   */
  private nextLook(now: number): number {
    const { idleTimeout, maxTimeout } = this.limits();
    return Math.min(this.startedAt! + maxTimeout, this.lastProgressAt! + idleTimeout, now + idleTimeout / LOOKS_PER_IDLE);
  }

  /** Whether the application read, or the peer acknowledged bytes of ours, since the last look. */
  private progressed(socket: SocketInternals, handle: NodeHandle | null = socket._handle): boolean {
    let moved = false;
    const bytes = socket.bytesRead;
    if (bytes > this.bytesSeen) moved = true;
    this.bytesSeen = bytes;
    // After our FIN nothing of the application's joins the queue: seen empty, it shows no more
    // progress (TLS's close_notify may join it still: its acknowledgement is not the peer's doing).
    if (this.queueSeen > 0) {
      const queued = sendQueueOf(handle);
      if (queued >= 0 && queued < this.queueSeen) moved = true;
      this.queueSeen = queued;
    }
    return moved;
  }

  /**
   * Ends this close now, as its caller asked (lingeringClose()'s signal), in whatever stage it is:
   * natively, the lingerer cuts it; before, it ends as a timed-out linger ends (`'aborted'`).
   */
  abort(socket: SocketInternals): void {
    if (this.handedOver) return cutLinger(this.token);
    if (this.report !== null) return;
    this.expired ??= 'aborted';
    this.stopWatching();
    // A flush waiting (lingeringClose()'s, or libuv's queue after destroy()) returns at once.
    this.flush?.stop();
    if (!socket.destroyed) socket.destroy();
  }

  /** The settings this close runs under (a short linger's, when admitted short). */
  limits(): LingerSettings {
    return this.admission === 'short' ? shorten(this.settings, this.owner.pool.limits.shortLingerTimeout) : this.settings;
  }

  private expire(socket: SocketInternals, reason: EarlyEnd): void {
    this.stopWatching();
    // Idle, but the peer finished meanwhile (its FIN is in: read by Node, or held by the kernel
    // behind input nobody read): the application held the socket, not the peer. Nothing is left
    // to wait for on the wire, so the close ends as the peer's end does: 'eof', no reset.
    if (reason !== 'idle-timeout' || !peerFinished(socket)) this.expired = reason;
    socket.destroy();
  }
}

// Only sockets whose state outlives a call: direct lingeringClose() calls and half-closed sockets.
const managed = new WeakMap<SocketInternals, Managed>();
// The state destroy() prepared, for the close step that runs inside that same destroy() (Node calls
// _destroy() synchronously): the common close keeps nothing in the WeakMap. Null with
// `preparingSocket` set: that destroy() is Node's own close, no linger (mode 'as-needed').
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
  if (state && (state.owner.active || state.admission !== null)) {
    // Its server's (a close that began there stays counted there, even once the server undid
    // lingering close: its pool gave the place, and its drained() waits for this close).
    state.settings = settingsFrom(state.settings);
  } else if (state) {
    state.owner = owner();
    state.settings = settingsFrom(undefined);
  } else {
    const entry = serverEntryOf(socket);
    state = entry?.owner.active ? new Managed(entry.owner, settingsFrom(entry.settings)) : new Managed(owner(), settingsFrom(undefined));
    managed.set(socket, state);
  }
  // Other copies of sockclose stand aside from now on (lingeringClose() checked none had begun).
  claim(socket);
  state.startedAt ??= clockNow();
  // Counted from now, in every stage (its flush before destroy() included): maxLingering bounds
  // it and the pool's drained() waits for it. Refused, it closes as an overloaded close does.
  state.admission ??= state.owner.pool.admit();
  return state;
}

/**
 * Ends every close of `owner` that began, at once and from now on (its server's signal aborted):
 * the native lingerer cuts those it has, the half-closed ones are destroyed now (as a timed-out
 * linger is), a flush is woken to end. The server's lingering close is undone by the caller: its
 * other sockets close as Node closes them.
 */
export function abortOwner(owner: Owner): void {
  owner.aborted = true;
  cutPool(owner.pool);
  // Collected first: each one ended unwatches itself, and its destroy() may watch or flush others.
  const halfClosed: Managed[] = [];
  forEachWatched((item) => {
    if (item instanceof Managed && item.owner === owner) halfClosed.push(item);
  });
  // Their look, now instead of at the next tick: it sees the abort and ends each as 'aborted'.
  const now = clockNow();
  for (const state of halfClosed) state.onTick(now);
  for (const flush of [...flushing]) if (flush.ownedBy(owner)) flush.wake();
}

// The net.Sockets under TLSSockets whose close is ours (see lingerStep()): their own close is
// the same connection's, already decided.
const underOurTls = new WeakSet<object>();
let anyUnderOurTls = false;

/** The socket's lingering-close state, kept or new, if its close is ours to decide. */
function stateOf(socket: SocketInternals): Managed | undefined {
  if (anyUnderOurTls && underOurTls.has(socket)) return undefined;
  const kept = managed.get(socket);
  if (kept !== undefined) return kept;
  const entry = serverEntryOf(socket);
  // Another copy of sockclose (a second install) may have begun this socket's close: it is theirs.
  return entry?.owner.active && claimForServerClose(socket) ? new Managed(entry.owner, entry.settings) : undefined;
}

/**
 * Our FIN is out (Node's shutdown completed, and 'finish' was emitted, with whatever its listeners
 * did): if the socket is still open and the peer's FIN not in, the close has begun.
 */
export function afterOurFin(socket: SocketInternals): void {
  if (socket.destroyed || inputEnded(socket)) return;
  // Only a connection on a descriptor lingers: TLS over a JavaScript stream stays Node's to close,
  // as its destroy() does (closeStep). Watched, it took a place, then ended with no reason and no
  // report.
  const handle = socket._handle;
  if (handle === null || transportKind(handle) === null) return;
  const state = stateOf(socket);
  if (state === undefined || !state.owner.active || state.admission !== null) return;
  // Kept from now on: the close that follows (destroy(), the watch's timeout) finds it.
  managed.set(socket, state);
  // http2's graceful close (GOAWAY; once the streams are done, socket.end() and resume()): nobody
  // reads the input but Node, which throws it away, and its native session may still consume it
  // unseen; nothing of the socket is the application's. Left half-closed, a peer flooding after
  // the GOAWAY was read until maxTimeout (8 GB under a 1 MiB maxDrainBytes, in 5 s), reported as
  // drainedBytes 0. The native lingerer drains it instead, within every bound, from now on (the
  // close's clock starts here).
  // So is an http socket that a 'clientError' handler ended (`socket.end('HTTP/1.1 400 …')`, as
  // Node's documentation shows): Node's failed parser throws away what the peer still sends
  // (calling the handler again per chunk). Left half-closed, a peer flooding after its parse error
  // had 2.1 GB read in 1.5 s under an 8 MiB maxDrainBytes, reported as drainedBytes 0.
  // Cheapest first: most sockets here have a reader (inputDiscarded() is false at its first test).
  const discarded = inputDiscarded(socket);
  if ((discarded ? http2Transport(socket) : httpInputAbandoned(socket)) && handle.fd >= 0) {
    state.startedAt ??= clockNow();
    socket.destroy();
    return;
  }
  state.watchHalfClose(socket, discarded);
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
  // mode 'as-needed', as nginx's `lingering_close on`: a close that begins here, of a connection
  // whose every request was read whole and answered, is Node's own. Judged from Node's objects
  // alone, as nginx judges (httpExchangeDone(): libuv reading the handle, so whatever arrived
  // before this loop iteration's poll was parsed; later bytes meet the close as they would
  // nginx's). Asking the kernel for unread input cost a probe of four syscalls per request, 1.09x
  // a plain server's CPU on this path (measured 2026-12-07).
  // (A state not kept is new, and stateOf() makes new ones only for an active owner.)
  const linger = !(state.owner.asNeeded && !managed.has(socket) && httpExchangeDone(socket));
  if (linger) {
    if (isSystemError(error) && connectionFailed(handle)) state.failed = error;
    if (state.owner.active || state.admission !== null) beforeDestroy(socket, handle, state);
  } else {
    state.owner.pool.countNotNeeded();
  }
  const outerSocket = preparingSocket;
  const outer = preparing;
  preparingSocket = socket;
  preparing = linger ? state : null;
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
    // destroySoon()) has its SO_LINGER read by the native lingerer instead, and only before a
    // close it can change (handOverNow() honours a setLinger(socket, 0) at once): none on the
    // common path.
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
 * Bytes of ours in the kernel's send queue, or -1 where unknown. Not our FIN: its acknowledgement,
 * often a delayed ACK, says nothing of the peer and would restart a silent peer's idle timeout.
 */
function sendQueueOf(handle: NodeHandle | null): number {
  const queued = handle ? kernelSendQueue(handle) : -1;
  return queued > 0 && platform().sendQueueCountsFin ? queued - 1 : queued;
}

/**
 * lingeringClose()'s check before its flush: true if SO_LINGER {1, 0} is set (setLinger(socket,
 * 0)), so the close the caller asked for first is a reset, and end() must not send FIN (TLS:
 * close_notify) before it; destroy() then resets. (Not kept as `lingerChecked`: the flush may
 * outlast a setLinger() made meanwhile, which the native lingerer must see.)
 */
export function abortiveLingerSet(handle: NodeHandle): boolean {
  return lingerOf(handle) === 'abortive';
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
  const state = preparingSocket === socket ? preparing : stateOf(socket);
  if (state === undefined || state === null) return undefined;
  state.endHalfClose(handle);
  // lingeringClose()'s flush ends here: what is left to write is libuv's, flushed below.
  state.flush?.stop();
  // A server that undid lingering close lets its sockets close as Node does, unless their close
  // had begun (they finish their bounded linger).
  if (!state.owner.active && state.admission === null) return undefined;
  // A TLSSocket made over a net.Socket (a TLS server given a raw socket another server accepted):
  // Node's close of its TLSWrap destroys that socket next, on the same descriptor. This close
  // decides how the connection ends; the raw socket's, under the server that accepted it, lingered
  // it a second time (two dups, two reports, two places for one connection). Claimed too: another
  // copy of sockclose, whose server accepted it, must not linger it either.
  const raw = tlsParentStream(handle);
  if (raw !== null) {
    underOurTls.add(raw);
    anyUnderOurTls = true;
    claimForServerClose(raw);
  }
  // Its server's signal aborted after the close began: it ends here, as a timeout would.
  if (state.owner.aborted) state.expired ??= 'aborted';
  // Destroyed without our destroy() wrapper (a caller holding the prototype's): decide here.
  if (!state.prepared) {
    state.prepared = true;
    state.abortive = nodeResetInProgress(socket);
    state.inputEnded = inputEnded(socket);
  }
  const { pool } = state.owner;
  // Read once: `fd` is a native accessor (~90 instructions a read).
  const fd = handle.fd;
  const transport = state.abortive ? null : transportKind(handle);
  if (transport === null || !(fd >= 0)) {
    if (state.admission !== null && state.admission !== 'refused') pool.release();
    if (state.abortive) resetDespiteShutdown(socket, handle);
    return state.abortive || undefined;
  }
  // A close that begins here (destroy() with nothing before it) hands over in this same call: its
  // elapsed time is 0, with no second read of the clock.
  const beginsNow = state.startedAt === null;
  const startedAt = (state.startedAt ??= clockNow());
  state.admission ??= pool.admit();
  if (state.admission === 'refused') {
    neverBlocking(handle);
    deliver(socket, state, endReport('overload', startedAt, false, unreadAtClose(fd, transport), null, false), null);
    return true;
  }
  if (state.failed) return endFailed(socket, state, state.failed);
  if (state.expired) return endHere(socket, handle, state, state.expired);
  if (queuedWriteBytes(socket, handle) > 0) return flushThenHandOver(socket, handle, state);
  return handOverNow(socket, handle, state, fd, transport, beginsNow);
}

/** Libuv still holds bytes of ours: wait until they are in the kernel, within the linger's bounds. */
async function flushThenHandOver(socket: SocketInternals, handle: NodeHandle, state: Managed): Promise<FirstOutcome> {
  state.closesLater = true;
  // The connection carrying nothing more of ours ends the wait too (transportShutDown()): our FIN
  // gone out, or the peer's reset (CLOSE: nothing will be written any more, and a TLS socket's count
  // of what its layer holds never falls back to 0 then; the transport's does). So does Node's
  // resetAndDestroy() meanwhile (resetWhileFlushing() wakes the flush).
  const end = await new Flush(socket, handle, state).until(
    () => nodeResetInProgress(socket) || queuedWriteBytes(socket, handle) === 0 || transportShutDown(handle),
  );
  // An abortive close asked for is never a linger, nor waits for one: reset now, as at destroy().
  if (nodeResetInProgress(socket)) {
    state.abortive = true;
    resetDespiteShutdown(socket, handle);
    afterClose(socket, state, () => state.owner.pool.release());
    return true;
  }
  if (end !== 'flushed') return endHere(socket, handle, state, end);
  // Aborted meanwhile (Managed.abort() stops the flush).
  if (state.expired) return endHere(socket, handle, state, state.expired);
  // Our writes failed meanwhile (the peer reset; Node's socket is destroyed, so nobody heard):
  // there is no connection left to linger on.
  if (connectionGone(handle)) {
    return endFailed(socket, state, pendingSocketError(errno().ECONNRESET, 'write', true, lingeringCloseStep));
  }
  return handOverNow(socket, handle, state, handle.fd, transportKind(handle), false);
}

/**
 * Node's resetAndDestroy() of a socket already destroyed, its handle still open: if its lingering
 * close is flushing, the flush ends now and the close resets (flushThenHandOver()). Node only
 * marks such a socket (its destroy() does nothing more), and the flush went on until its bound
 * (the idle timeout, maxTimeout for a slow reader), then lingered on the connection.
 */
export function resetWhileFlushing(socket: SocketInternals): void {
  for (const flush of flushing) if (flush.closes(socket)) flush.wake();
}

/**
 * Whether the connection is over, for the flush: no descriptor, or the peer reset it, before its
 * FIN or after it ('fin-reset': a peer that half-closed, never read our response, then closed;
 * the flush waited to its idle timeout, then sent an RST to no connection).
 */
function connectionGone(handle: NodeHandle): boolean {
  if (!(handle.fd >= 0)) return true;
  const end = kernelPeerEnd(handle);
  return end === 'reset' || end === 'fin-reset';
}

/**
 * Whether the connection can carry nothing more of ours: no descriptor, our FIN is out (Node's
 * shutdown went through), or the connection is over (CLOSE: both FINs, or a reset, before or after
 * the peer's FIN, which is everything connectionGone() tells, from the same one look). What Node
 * still counts as queued then is never written: a TLS 1.3 socket destroyed in the tick its
 * handshake completed keeps its session tickets (~0.5 KB) counted in its TLS layer's queue for
 * good, while its transport's shutdown went out; waiting for that count held the close to the idle
 * timeout, then reset it, its peer long finished. The state on TCP; on AF_UNIX, both sides shut.
 */
function transportShutDown(handle: NodeHandle): boolean {
  if (!(handle.fd >= 0)) return true;
  const native = binding();
  if (native === null) return false;
  const transport = transportKind(handle);
  // AF_UNIX has no state to ask: poll() says POLLHUP once both sides are shut (or the peer has
  // closed), when nothing more of ours can reach it. Not asked, the TLS 1.3 close above waited there
  // for its idle timeout, its peer having answered our FIN at once.
  if (transport === 'unix') {
    const revents = native.pollRevents(handle.fd);
    return revents >= 0 && (revents & Revents.hup) !== 0;
  }
  if (transport !== 'tcp') return false;
  if (native.probe(handle.fd, Field.tcp) < 0) return false;
  const tcp = platform().tcpState(record, 'tcp');
  return (
    tcp === State.FIN_WAIT1 ||
    tcp === State.FIN_WAIT2 ||
    tcp === State.CLOSING ||
    tcp === State.LAST_ACK ||
    tcp === State.TIME_WAIT ||
    tcp === State.CLOSE
  );
}

// The flushes running now: few (a close flushes only while Node still holds bytes of it), and an
// abort of their server must reach them (abortOwner()).
const flushing = new Set<Flush>();

/**
 * The flush: waits until Node has handed the kernel what it holds (`flushed()`), within the close's
 * bounds. Meanwhile nothing read reaches Node's stream or its http parser (see node-handle.ts):
 * libuv keeps reading, and the bytes are dropped and counted (a peer blocked on a full window
 * reads nothing of ours). Progress, which restarts the idle timeout, is a byte read or a byte of
 * ours acknowledged: what Node and the kernel hold for the peer shrinking as a whole (bytes moving
 * from Node's queue to the kernel's are not progress).
 *
 * No event says "libuv's queue is empty": it is polled, 1 ms first, backing off to 50 ms. A read
 * past `maxDrainBytes`, {@link Flush.wake} or {@link Flush.stop} ends the wait at once. One flush
 * runs per socket at a time (`state.flush`); its dropped bytes go to `state.drainedBytes` as it ends.
 */
export class Flush implements ReadSink {
  private readonly firstByte: number;
  private lastByte = -1;
  private wakeUp: (() => void) | null = null;

  constructor(
    private readonly socket: SocketInternals,
    private readonly handle: NodeHandle,
    private readonly state: Managed,
  ) {
    state.flush?.stop();
    state.flush = this;
    flushing.add(this);
    this.firstByte = transportBytesRead(handle) ?? 0;
    dropReads(handle, this);
    detachHttpParser(socket);
    startReading(handle);
  }

  /** Bytes read and dropped since the flush began (until it ended). */
  dropped(): number {
    const last = this.lastByte >= 0 ? this.lastByte : (transportBytesRead(this.handle) ?? this.firstByte);
    return last - this.firstByte;
  }

  /** Ends the flush (a no-op once ended): its count goes to the state, its wait returns 'flushed'. */
  stop(): void {
    if (this.lastByte >= 0) return;
    flushing.delete(this);
    this.lastByte = transportBytesRead(this.handle) ?? this.firstByte;
    this.state.drainedBytes += this.lastByte - this.firstByte;
    if (this.state.flush === this) this.state.flush = null;
    this.wake();
  }

  onRead(end: boolean): void {
    this.state.onRead(end);
    if (this.lastByte < 0 && this.state.drainedBytes + this.dropped() > this.state.limits().maxDrainBytes) {
      // Not one read more: the limit is what ends this close.
      stopReading(this.handle);
      this.wake();
    }
  }

  /** Whether this flush is of `socket`'s close. */
  closes(socket: SocketInternals): boolean {
    return this.socket === socket;
  }

  /** Whether this flush is a close of `owner`'s. */
  ownedBy(owner: Owner): boolean {
    return this.state.owner === owner;
  }

  /** Looks again now (the socket's 'finish' or 'close', its server's abort). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Waits until `flushed()`; 'flushed', or how the bounds ended the close. Ends the flush. */
  async until(flushed: () => boolean): Promise<'flushed' | EarlyEnd> {
    try {
      return await this.wait(flushed);
    } finally {
      this.stop();
    }
  }

  private async wait(flushed: () => boolean): Promise<'flushed' | EarlyEnd> {
    const { state } = this;
    const { idleTimeout, maxTimeout, maxDrainBytes } = state.limits();
    const deadline = state.startedAt! + maxTimeout;
    let held = this.held();
    let read = this.dropped();
    // One idle clock for the whole close: a half-closed stage before this flush spent some of it.
    let lastProgressAt = (state.lastProgressAt ??= clockNow());
    for (let delay = FLUSH_POLL_FIRST_MS; ; delay = Math.min(delay * 2, FLUSH_POLL_MAX_MS)) {
      if (this.lastByte >= 0 || flushed()) return 'flushed';
      // Its server's signal (abortOwner() wakes the flush).
      if (state.owner.aborted) return 'aborted';
      if (state.drainedBytes + read > maxDrainBytes) return 'drain-limit';
      const now = clockNow();
      if (now >= deadline) return 'max-timeout';
      if (now >= lastProgressAt + idleTimeout) return 'idle-timeout';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, Math.min(delay, deadline - now, lastProgressAt + idleTimeout - now)));
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wakeUp = done;
      });
      this.wakeUp = null;
      const nowHeld = this.held();
      const drained = this.dropped();
      if (nowHeld < held || drained > read) lastProgressAt = state.lastProgressAt = clockNow();
      held = nowHeld;
      read = drained;
    }
  }

  /** Bytes of ours not yet acknowledged: the stream's buffer, libuv's queue, the kernel's send queue. */
  private held(): number {
    const kernel = kernelSendQueue(this.handle);
    // A destroyed stream's buffer is being discarded, not written.
    const node = this.socket.destroyed ? queuedWriteBytes(this.socket, this.handle) : unwrittenBytes(this.socket, this.handle);
    return node + (kernel > 0 ? kernel : 0);
  }
}

/**
 * Hands the connection to the native lingerer: `fd` and `transport` are the live handle's, read by
 * the caller; `beginsNow` when the close began in this same call (no time spent yet).
 */
function handOverNow(
  socket: SocketInternals,
  handle: NodeHandle,
  state: Managed,
  fd: number,
  transport: Transport | null,
  beginsNow: boolean,
): FirstOutcome {
  const settings = state.limits();
  const startedAt = state.startedAt!;
  const now = beginsNow ? startedAt : clockNow();
  const elapsedMs = now - startedAt;
  if (elapsedMs >= settings.maxTimeout) return endHere(socket, handle, state, 'max-timeout');
  // Idle time already spent half-closed or flushing (the lingerer makes its own last read before
  // a timeout: a peer that finished meanwhile still ends as 'eof').
  const idleSpentMs = state.lastProgressAt === null ? 0 : Math.floor(Math.max(0, now - state.lastProgressAt));
  const shortened = state.admission === 'short';
  // setLinger(socket, 0) since our last look (or none was made: Node had ended the socket): an
  // abortive close asked for resets now, not after a linger. The native lingerer reads SO_LINGER
  // only before a close it can change once our FIN is out (src/linger-marks.ts).
  const abortiveAsked = !state.lingerChecked && abortiveLingerMarked(handle) && lingerOf(handle) === 'abortive';
  const result = abortiveAsked
    ? 'abortive'
    : handOver(
        {
          fd,
          pool: state.owner.pool,
          settings,
          drainedBytes: state.drainedBytes,
          elapsedMs,
          idleSpentMs,
          finSent: state.finSent || socket.writableFinished,
          lingerChecked: state.lingerChecked,
          inputEnded: state.inputEnded,
          canReset: transport === 'tcp',
          // TCP only: the kernel's counts they are compared with are TCP_INFO's.
          readBytes: transport === 'tcp' ? (transportBytesRead(handle) ?? -1) : -1,
          writtenBytes: transport === 'tcp' ? (transportBytesHanded(handle) ?? -1) : -1,
        },
        consumerFor(socket, state, shortened),
      );
  if (typeof result === 'number') {
    state.handedOver = true;
    state.token = result;
    return 'handed-over';
  }
  if (result === 'abortive') {
    // SO_LINGER {1, 0}, set after our last look (or seen by the lingerer before our FIN): Node's
    // close resets, as asked. No report.
    state.abortive = true;
    afterClose(socket, state, () => state.owner.pool.release());
    return true;
  }
  // No descriptor for the lingerer (EMFILE, ENFILE) or the connection is gone: no linger, counted.
  // A flush or a half-close before it may have drained input already: reported and counted.
  neverBlocking(handle);
  const error = systemError(result.errno, result.syscall, lingeringCloseStep);
  deliver(socket, state, endReport('overload', startedAt, false, unreadAtClose(fd, transport), error, shortened, state.drainedBytes), false);
  return true;
}

/** Ends the close in JavaScript as a linger ending with `reason` would (before the hand-over). */
function endHere(socket: SocketInternals, handle: NodeHandle, state: Managed, reason: EarlyEnd): true {
  const reset = state.limits().onTimeout === 'reset' && setAbortive(handle);
  if (!reset) neverBlocking(handle);
  // A reset asked for counts what input it hits too (a peer still sending), but at an idle timeout.
  const unread = !reset ? unreadAtClose(handle.fd, transportKind(handle)) : reason === 'idle-timeout' ? 0 : unreadNow(handle.fd);
  deliver(socket, state, endReport(reason, state.startedAt!, reset, unread, null, state.admission === 'short', state.drainedBytes), reset);
  return true;
}

/** The connection failed under us (a reset): closed as Node closes it, reported as an error. */
function endFailed(socket: SocketInternals, state: Managed, error: SystemError): true {
  deliver(socket, state, endReport('error', state.startedAt!, false, 0, error, state.admission === 'short', state.drainedBytes), false);
  return true;
}

/** An error shaped as a system error (Node's `read ECONNRESET`, `write EPIPE`…, or any other). Internal. */
export function isSystemError(error: Error | null | undefined): error is SystemError {
  const system = error as (Error & { syscall?: unknown; errno?: unknown; code?: unknown }) | null | undefined;
  return typeof system?.syscall === 'string' && typeof system.errno === 'number' && typeof system.code === 'string';
}

/**
 * Whether the connection itself failed: destroy(error) may carry another stream's error (a file
 * that could not be read, an upstream's reset passed on by a proxy), and then this connection is
 * fine and its response must still reach the peer. TCP: the kernel says (reset, or no descriptor);
 * elsewhere the error is taken at its word, as nothing tells them apart.
 */
function connectionFailed(handle: NodeHandle): boolean {
  // A reset after the peer's FIN too (connectionGone()): Node's write that met it is the error
  // here (EPIPE), and it took the error the kernel held.
  return transportKind(handle) !== 'tcp' || connectionGone(handle);
}

/** Whether the peer's FIN has arrived: Node read it (its stream ended, consumed or not), or the kernel says so. */
function peerFinished(socket: SocketInternals): boolean {
  if (inputEnded(socket)) return true;
  const handle = socket._handle;
  if (handle === null) return false;
  // AF_UNIX has no TCP state to ask: the peer's end was not seen there, and the close went on as
  // an idle timeout, its unread input making the peer's last read fail (ECONNRESET, not EOF).
  if (transportKind(handle) === 'unix') return unixPeerFinished(handle.fd);
  const end = kernelPeerEnd(handle);
  return end === 'fin' || end === 'fin-reset';
}

/**
 * Whether an AF_UNIX peer has shut its side down: poll() says so (POLLRDHUP; POLLHUP once both
 * sides are), with no error pending (a peer gone with bytes of ours unread).
 */
function unixPeerFinished(fd: number): boolean {
  const native = binding();
  if (native === null || !(fd >= 0)) return false;
  const revents = native.pollRevents(fd);
  return revents >= 0 && (revents & (Revents.rdhup | Revents.hup)) !== 0 && (revents & Revents.err) === 0;
}

/**
 * Input the kernel holds unread on a connection about to be closed plainly, which the kernel then
 * answers with a reset (TCP: RST; AF_UNIX on Linux: the peer's read fails with ECONNRESET). 0:
 * none, unknown, or a kernel that sends FIN then (the BSDs).
 * Looked at only on the rare closes that do not linger, so that their report says how they really
 * ended.
 */
function unreadAtClose(fd: number, transport: Transport | null): number {
  return transport !== null && platform().unreadInputResets[transport] ? unreadNow(fd) : 0;
}

/** Input the kernel holds unread on `fd` (0: none, or unknown). */
function unreadNow(fd: number): number {
  const native = binding();
  if (native === null || !(fd >= 0) || native.probe(fd, Field.unread) < 0) return 0;
  const unread = record[Slot.unread]!;
  return unread > 0 ? unread : 0;
}

/** Bytes in the kernel's send queue (raw: our FIN, once sent, may count), or -1 where unknown. */
function kernelSendQueue(handle: NodeHandle): number {
  const native = binding();
  if (native === null || !(handle.fd >= 0) || native.probe(handle.fd, QUEUE_FIELDS) < 0) return -1;
  return record[Slot.sendQueue]!;
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

// The overloads are the report's variants (types.ts): each caller builds one that is true.
// `reset`: SO_LINGER {1, 0} was set; `unread`: input the close left unread (unreadAtClose(),
// unreadNow()), which makes it a reset either way.
function endReport(reason: 'overload', startedAt: number, reset: false, unread: number, error: SystemError | null, shortened: boolean, drainedBytes?: number): LingerOverloadReport;
function endReport(reason: EarlyEnd, startedAt: number, reset: boolean, unread: number, error: null, shortened: boolean, drainedBytes: number): LingerTimeoutReport;
function endReport(reason: 'error', startedAt: number, reset: false, unread: 0, error: SystemError, shortened: boolean, drainedBytes: number): LingerErrorReport;
function endReport(
  reason: LingerEndReason,
  startedAt: number,
  reset: boolean,
  unread: number,
  error: SystemError | null,
  shortened: boolean,
  drainedBytes = 0,
): LingerReport {
  const closedWith = reset || unread > 0 ? 'reset' : 'close';
  return { reason, drainedBytes, durationMs: clockNow() - startedAt, closedWith, unreadBytes: unread, error, shortened } as LingerReport;
}

function shorten(settings: LingerSettings, total: number): LingerSettings {
  return {
    ...settings,
    maxTimeout: Math.min(settings.maxTimeout, total),
    idleTimeout: Math.min(settings.idleTimeout, total),
  };
}

/**
 * SO_LINGER {1, 0} on the live descriptor, so that the close that follows sends RST. TCP only:
 * AF_UNIX accepts the option and ignores it (its close is never a reset).
 */
function setAbortive(handle: NodeHandle): boolean {
  const native = binding();
  return native !== null && handle.fd >= 0 && transportKind(handle) === 'tcp' && native.lingerAbortive(handle.fd) >= 0;
}

/**
 * Node's resetAndDestroy() while end() is under way (lingeringClose()'s flush, or the application's
 * own end(), until 'finish'): libuv refuses the reset (EINVAL) while its shutdown is pending, and
 * Node then drops the handle unclosed (the descriptor leaks, 'close' never comes, a lingeringClose()
 * promise never settles). Reset as hardReset() does instead: SO_LINGER {1, 0}, then Node's close.
 */
function resetDespiteShutdown(socket: SocketInternals, handle: NodeHandle): void {
  if (!nodeResetInProgress(socket) || !socket.writableEnded || socket.writableFinished) return;
  if (setAbortive(handle)) resetThroughClose(socket);
}

/**
 * A close decided here must not block the loop: a positive SO_LINGER (setLinger(socket, n,
 * { blocking: true }), or other code's) is turned off first, as the native lingerer does.
 */
function neverBlocking(handle: NodeHandle): void {
  // Read once, and only on a live descriptor: the binding refuses -1 with a RangeError (a TLS
  // handle whose transport was destroyed under it has no descriptor left, nor a linger to undo).
  const fd = handle.fd;
  if (fd >= 0 && lingerOf(handle) === 'other') binding()?.lingerOff(fd);
}

/**
 * Counts the close that ended here (`reset`: the RST the timeout policy asked for; null: a refused
 * close, which held no place) and delivers its report.
 */
function deliver(socket: SocketInternals, state: Managed, report: LingerReport, reset: boolean | null): void {
  state.report = report;
  const count = (): void => {
    const { pool } = state.owner;
    if (reset === null) pool.count(report.reason, 0, false);
    else pool.finish(report.reason, report.drainedBytes, reset);
  };
  if (!state.closesLater) count();
  // The channel now, right before the descriptor closes, as for every close decided here: the
  // close audit's look at that close must find the report (else it counts a reset it asked for as
  // one it saw). The counters, the promise and onReport wait for the close itself when it comes
  // later (see afterClose()).
  publishLingerEnd(report, socket);
  if (!state.closesLater) {
    // Node closes the descriptor right after this returns, in the same call (the close hook's step
    // decided): the caller and onReport hear of it after that, as of every other end. Called from
    // here, onReport saw the socket's handle still open.
    process.nextTick(deliverToCaller, socket, state, report);
    return;
  }
  afterClose(socket, state, () => {
    count();
    deliverToCaller(socket, state, report);
  });
}

/**
 * Runs `settle` once Node has closed the descriptor: now when the close follows in this same call,
 * else at the socket's 'close' or in the check phase, whichever comes first, both after the
 * microtasks that lead to Node's close (src/close-hook.ts). 'close' can come first (a TLS socket
 * whose transport was destroyed under it): lingeringClose()'s promise, which settles at 'close',
 * then finds the close counted. Given back earlier, a place let `stats().lingering` say 0 and `drained()` resolve while
 * the connection was still open, before onReport had its report.
 */
function afterClose(socket: SocketInternals, state: Managed, settle: () => void): void {
  if (!state.closesLater) return settle();
  const once = (): void => {
    socket.off('close', once);
    clearImmediate(immediate);
    settle();
  };
  socket.once('close', once);
  const immediate = setImmediate(once);
}

function deliverToCaller(socket: SocketInternals, state: Managed, report: LingerReport): void {
  state.consumer?.(report);
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
