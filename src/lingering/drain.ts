// The linger itself, run while the socket is destroyed but its descriptor still open (a close
// step): let libuv finish writing, send FIN, then read and throw away whatever the peer still
// sends until its FIN, a reset, or a bound. Event-driven: an EOF or a reset arrives as a read,
// which ends it; the shared clock (ticker.ts) covers the idle and total timeouts.

import { verdictError } from '../errors.js';
import { platform, type Transport } from '../platform/index.js';
import { requireNative, type NodeHandle } from '../target.js';
import { queuedWriteBytes, startReading, transportBytesRead, type ReadSink } from '../node-handle.js';
import type { LingerSettings } from './options.js';
import { Extra, readPeer, type PeerView } from './peer-state.js';
import { unwatch, watch, type Ticking } from './ticker.js';
import type { LingerEndReason } from './types.js';

/**
 * How a drain ended. `'abortive'`: SO_LINGER {1, 0} turned out to be set (setLinger(socket, 0)
 * on a socket already ended): the close resets, as asked, and nothing is reported.
 */
export interface DrainOutcome {
  reason: Exclude<LingerEndReason, 'overload'> | 'abortive';
  drainedBytes: number;
  error: Error | null;
}

// While libuv still writes (before our FIN can go), poll its queue: no event says "written".
const FLUSH_POLL_FIRST_MS = 1;
const FLUSH_POLL_MAX_MS = 50;
// A linger that no read has ended by then takes its first look at the kernel (the baseline of the
// idle timeout's progress). Most end long before: the peer closes within a round trip.
const FIRST_LOOK_MS = 100;

/** What {@link drain} works on. */
export interface DrainTarget {
  readonly handle: NodeHandle;
  readonly transport: Transport;
  readonly settings: LingerSettings;
  /** `performance.now()` when the lingering close began (the total timeout counts from there). */
  readonly startedAt: number;
  /**
   * Look at the kernel at once: Node already saw the end of input (libuv has stopped reading, so no
   * read will report it). Otherwise libuv reads, and the first read tells.
   */
  readonly lookFirst: boolean;
  /** Node already handed the kernel our FIN. */
  readonly finSent: boolean;
  /** SO_LINGER was already found not abortive (else the first look at the kernel reads it). */
  readonly lingerChecked: boolean;
  /** Receives the reader to tell of each dropped read (the handle's reads already go nowhere). */
  readonly attach: (reader: ReadSink) => void;
}

/** Drains the target's connection until the peer is done or a bound is hit. Never rejects. */
export function drain(target: DrainTarget): Promise<DrainOutcome> {
  return new Promise((resolve) => new Drain(target, resolve).start());
}

/**
 * Whether the peer's side of the conversation is over, from the kernel's view:
 * - `'eof'`: its FIN arrived, nothing it sent is left unread, and ours is out (`finSent`: libuv
 *   had nothing left to write and shutdown(SHUT_WR) was called); or it reset after sending its FIN;
 *   or, where `resetAfterShutdownIsEnd` (IBM i, libuv issue 3494), it reset after our FIN.
 * - `'error'`: it reset (or the connection failed) before finishing.
 * - `null`: not over yet.
 */
export function peerEnd(peer: PeerView, finSent: boolean, resetAfterShutdownIsEnd: boolean): 'eof' | 'error' | null {
  if (peer.reset) {
    const ourFinOut = finSent || peer.ourFinSent === true;
    return peer.peerFinished || (ourFinOut && resetAfterShutdownIsEnd) ? 'eof' : 'error';
  }
  // Everything of ours must be in the kernel, FIN behind it, before the close; and unread input
  // would make the close send RST.
  return peer.peerFinished && peer.unread === 0 && finSent ? 'eof' : null;
}


class Drain implements ReadSink, Ticking {
  wakeAt = Number.POSITIVE_INFINITY;
  private readonly handle: NodeHandle;
  private readonly settings: LingerSettings;
  private readonly firstByte: number;
  private lastProgressAt: number;
  private progress = Number.NaN;
  private finRequested: boolean;
  private flushPoll = FLUSH_POLL_FIRST_MS;
  private flushTimer: NodeJS.Timeout | null = null;
  /** A read reported the end of input (EOF or an error): the kernel should agree soon. */
  private inputEnded = false;
  /** Read SO_LINGER with the next look at the kernel. */
  private lingerUnknown: boolean;
  private done = false;

  constructor(
    private readonly target: DrainTarget,
    private readonly resolve: (outcome: DrainOutcome) => void,
  ) {
    this.handle = target.handle;
    this.settings = target.settings;
    this.finRequested = target.finSent;
    this.lingerUnknown = !target.lingerChecked;
    this.firstByte = transportBytesRead(target.handle) ?? 0;
    this.lastProgressAt = performance.now();
  }

  start(): void {
    this.target.attach(this);
    // If this fails the connection is gone; the first check sees it.
    startReading(this.handle);
    watch(this);
    // Look first if no read will tell us anything (the input already ended), or before sending a
    // FIN ourselves while SO_LINGER is unread (an abortive close asked for must not FIN first).
    if (this.target.lookFirst || (!this.finRequested && this.lingerUnknown)) {
      this.check(Extra.none);
      return;
    }
    // The common case (http's destroySoon()): our FIN is out and the peer's answer is a read
    // away. Send our FIN if Node could not, then wait for that read or the clock.
    this.flush();
    this.wakeAt = this.lastProgressAt + Math.min(this.settings.idleTimeout, FIRST_LOOK_MS);
  }

  /**
   * Our FIN, once libuv has handed the kernel everything (before, it would cut those bytes off);
   * until then, look again soon. Returns the bytes libuv still holds.
   */
  private flush(): number {
    const queued = queuedWriteBytes(this.handle);
    if (this.finRequested) return queued;
    if (queued === 0) {
      this.finRequested = true;
      requireNative(drain).shutdownWrite(this.handle.fd);
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.check(Extra.none);
      }, this.flushPoll);
      this.flushPoll = Math.min(this.flushPoll * 2, FLUSH_POLL_MAX_MS);
    }
    return queued;
  }

  onRead(end: boolean): void {
    if (this.done) return;
    this.lastProgressAt = performance.now();
    if (end) {
      this.inputEnded = true;
      this.check(Extra.none);
    } else if (this.drained() > this.settings.maxDrainBytes) {
      this.check(Extra.none);
    }
  }

  onTick(): void {
    // A timeout may be due: read the send queue too, in case TCP_INFO has no acknowledged count.
    this.check(this.finRequested ? Extra.queues : Extra.none);
  }

  private drained(): number {
    return (transportBytesRead(this.handle) ?? 0) - this.firstByte;
  }

  private check(extra: number): void {
    if (this.done) return;
    let peer: PeerView;
    try {
      const withLinger = this.lingerUnknown ? extra | Extra.linger : extra;
      peer = readPeer(this.handle.fd, this.target.transport, transportBytesRead(this.handle) ?? 0, withLinger, drain);
    } catch (error) {
      this.finish('error', error as Error);
      return;
    }
    if (this.lingerUnknown) {
      this.lingerUnknown = false;
      if (peer.abortive) {
        this.finish('abortive', null);
        return;
      }
    }
    const queued = this.flush();
    const now = performance.now();

    const end = peerEnd(peer, this.finRequested, platform().resetAfterShutdownIsEnd);
    if (end !== null) {
      this.finish(end, end === 'error' && peer.reset !== null ? verdictError(peer.reset, drain) : null);
      return;
    }
    if (this.drained() > this.settings.maxDrainBytes) {
      this.finish('drain-limit', null);
      return;
    }
    const deadline = this.target.startedAt + this.settings.maxTimeout;
    if (now >= deadline) {
      this.finish('max-timeout', null);
      return;
    }
    const progress = peer.progress - queued;
    if (progress !== this.progress) {
      this.progress = progress;
      this.lastProgressAt = now;
    }
    const idleAt = this.lastProgressAt + this.settings.idleTimeout;
    if (now >= idleAt) {
      this.finish('idle-timeout', null);
      return;
    }
    // The peer's FIN is in (libuv reads what is left before it, then reports the EOF), or the
    // input ended above TCP (TLS close_notify) with the FIN still to come: look again next tick.
    const soon = peer.peerFinished || this.inputEnded ? now : Number.POSITIVE_INFINITY;
    this.wakeAt = Math.min(deadline, idleAt, soon);
  }

  private finish(reason: DrainOutcome['reason'], error: Error | null): void {
    this.done = true;
    unwatch(this);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.resolve({ reason, drainedBytes: this.drained(), error });
  }
}
