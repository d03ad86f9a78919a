// One proxied connection: a client socket, its upstream socket, and a pipe for each direction
// that passes data through the toxics in force. Ends are passed on faithfully: a FIN as a FIN
// (half-closes included), a reset as a reset, after the data that preceded it. A reset that Node
// reports as a clean 'end' is recognised by peeking the kernel's pending error, so a FIN is never
// passed on where the kernel saw an RST; one that follows a FIN passed on, by polling it.
import net from 'node:net';

import { hardReset } from '../hard-reset.js';
import { binding, record } from '../native/binding.js';
import { Field, Revents, State } from '../native/layout.js';
import { platform, type PeekContext } from '../platform/index.js';
import { peekSocketError } from '../socket-error.js';
import { liveTcpFd } from '../target.js';
import { after, type Timer } from './clock.js';
import { allAcknowledged, finSent, waitForKernel } from './kernel-wait.js';
import { observeClose, type CloseObservation } from './observe-close.js';
import type { Endpoint } from './options.js';
import type { Toxic, ToxicAttributes, ToxicStream, ToxicType } from './toxics.js';

/** Something a toxic did to a connection. */
export interface ToxicEvent {
  /** The toxic's name. */
  toxic: string;
  /** The toxic's type. */
  type: ToxicType;
  /** The stream it acted on: `'upstream'` client → server, `'downstream'` server → client. */
  stream: ToxicStream;
  /** 'drop': data discarded; 'reset' / 'close': the connection ended by it; 'delay-fin': a FIN held back. */
  action: 'drop' | 'reset' | 'close' | 'delay-fin';
  /** Milliseconds since the client connected. */
  atMs: number;
}

/** What happened on one proxied connection, emitted as `'report'` once both sockets have closed. */
export interface ProxyLinkReport {
  /** 1 for the first connection the proxy accepted, and so on: the id its `'connection'` and `'toxic'` events carried. */
  id: number;
  /** The client's address. */
  client: Endpoint;
  /** Bytes passed on (and dropped) per stream: upstream is client → server. */
  bytes: { upstream: number; downstream: number; droppedUpstream: number; droppedDownstream: number };
  /** What the toxics did, in order. */
  toxics: ToxicEvent[];
  /**
   * Who ended it: the client or the upstream (their FIN or reset, passed on), a toxic, the
   * upstream being unreachable, `resetConnections()`, `disable()` (the proxy taken down), or
   * `close()`.
   */
  endedBy: 'client' | 'upstream' | 'toxic' | 'upstream-connect' | 'proxy-reset' | 'proxy-down' | 'proxy-close';
  /** The upstream connect error's code, if connecting failed (`'ETIMEDOUT'` once `connectTimeoutMs` ran out). */
  upstreamError: string | null;
  /** How the client connection ended, seen from the proxy's side of it. */
  clientSide: CloseObservation;
  /** How the upstream connection ended, seen from the proxy's side; null if it never connected. */
  upstreamSide: CloseObservation | null;
}

/** What a link needs from its proxy. */
export interface LinkOwner {
  readonly upstream: Endpoint;
  /** Bound on connecting to the upstream: then the client is reset, as for an unreachable one. */
  readonly connectTimeoutMs: number;
  toxics(): readonly Toxic[];
  /** Told each time a toxic acts, as it happens. */
  toxicActed(event: ToxicEvent, linkId: number): void;
}

/** A queued item: data, or an end to pass on in order after it. */
type Item = Buffer | 'fin' | 'rst' | 'fin-rst';

interface ToxicState {
  applies: boolean;
  timer: Timer | undefined;
  triggered: boolean;
  /** Bytes its stream had accepted when the toxic began to apply: limit_data counts from there. */
  base: number;
}

// Queued bytes past which the source is paused (latency holds data in the proxy).
const HIGH_WATER = 1 << 20;
// Bounds: how long a reset waits for the data before it to be acknowledged, and how long a close
// waits for the peers' FINs before destroying (nothing is unread then: the close stays a FIN).
const FLUSH_MS = 2000;
const CLOSE_MS = 5000;
// After a source's FIN its pending error is polled (libuv reads no more from it): from 1 ms, backing
// off to this, so a reset that follows the FIN is passed on within about this long.
const RESET_POLL_MAX_MS = 50;

class Pipe {
  /** Bytes accepted for passing on (written or queued). */
  accepted = 0;
  passed = 0;
  dropped = 0;
  ended = false;
  private queued = 0;
  // `arrived`: when the item reached the proxy, from which retime() times it again by the toxics
  // then in force (latency, and slow_close for a FIN it held: `slowFin`), and shapes it again.
  private readonly queue: Array<{ due: number; arrived: number; slowFin: boolean; item: Item }> = [];
  private timer: NodeJS.Timeout | undefined;
  private lastDue = 0;
  /** A FIN (or reset) went to dst: no more data goes. */
  private closedOut = false;
  private resetOut = false;
  private readonly dropNoted = new Set<string>();
  /** The source's end arrived while a `timeout` toxic held it back: passed on once none does. */
  private endHeld = false;
  /** The next look for a reset after the source's FIN (watchForReset()). */
  private resetWatch: NodeJS.Timeout | undefined;

  constructor(
    readonly link: Link,
    readonly stream: ToxicStream,
    readonly src: net.Socket,
    readonly dst: net.Socket,
  ) {}

  start(): void {
    this.src.on('data', (chunk: Buffer) => this.onData(chunk));
    this.src.once('end', () => this.onEnd());
    this.dst.on('drain', () => this.flow());
    this.src.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.link.ending !== null || this.closedOut) {
      this.dropped += chunk.length;
      return;
    }
    let delay = 0;
    let limit: Toxic | null = null;
    for (const toxic of this.link.active(this.stream)) {
      switch (toxic.type) {
        case 'timeout':
          this.drop(chunk.length, toxic);
          return;
        case 'reset_peer':
          if (toxic.attributes.from === 'data') this.link.trigger(toxic);
          break;
        case 'limit_data': {
          const room = toxic.attributes.bytes - (this.accepted - this.link.base(toxic));
          if (room <= 0) {
            this.drop(chunk.length, toxic);
            this.link.limitReached(toxic, this);
            return;
          }
          if (chunk.length >= room) {
            this.dropped += chunk.length - room;
            chunk = chunk.subarray(0, room);
            limit = toxic;
          }
          break;
        }
        case 'latency':
          delay += Math.max(0, toxic.attributes.latency + jitter(toxic.attributes.jitter));
          break;
        case 'slow_close':
        case 'bandwidth':
        case 'slicer':
          break; // shape the data as it is queued (enqueueData)
      }
    }
    this.accepted += chunk.length;
    this.enqueueData(chunk, delay);
    if (limit) this.link.limitReached(limit, this);
  }

  /**
   * Queues data after `delay` ms, shaped by the stream's `slicer` toxics (smaller writes, spaced)
   * and `bandwidth` toxics (each piece due once the slowest rate has carried it).
   */
  private enqueueData(chunk: Buffer, delay: number): void {
    const now = performance.now();
    this.shape(chunk, now + delay, now);
  }

  /** Queues `chunk` (arrived at `arrived`) from `base` on, shaped by the slicer and bandwidth toxics in force now. */
  private shape(chunk: Buffer, base: number, arrived: number): void {
    let rate = Infinity; // bytes per ms (= KB/s)
    const slicers: Array<ToxicAttributes['slicer']> = [];
    for (const toxic of this.link.active(this.stream)) {
      if (toxic.type === 'bandwidth') rate = Math.min(rate, toxic.attributes.rate);
      else if (toxic.type === 'slicer') slicers.push(toxic.attributes);
    }
    if (rate === Infinity && slicers.length === 0) {
      this.enqueueFrom(chunk, base, arrived);
      return;
    }
    let pieces = [chunk];
    let spacing = 0;
    for (const slicer of slicers) {
      pieces = pieces.flatMap((piece) => slice(piece, slicer));
      spacing += slicer.delay / 1000;
    }
    // At most 100 ms worth per write, as Toxiproxy: a slow rate still shows progress.
    if (rate !== Infinity) pieces = pieces.flatMap((piece) => slice(piece, { average_size: Math.max(1, rate * 100), size_variation: 0 }));
    let due = Math.max(this.lastDue, base);
    pieces.forEach((piece, index) => {
      if (index > 0) due += spacing;
      if (rate !== Infinity) due += piece.length / rate;
      this.enqueueAt(piece, due, arrived);
    });
  }

  /**
   * The toxics changed: what is still queued is timed and shaped again by the toxics in force, so
   * that removing (or easing) a bandwidth, slicer, latency or slow_close toxic frees the data (or
   * the FIN) it was holding back (its times were fixed as the data was read, up to HIGH_WATER
   * ahead: ~17 minutes at rate 1; a latency or slow_close delay in full).
   */
  retime(): void {
    if (this.queue.length === 0 || this.resetOut) return;
    clearTimeout(this.timer);
    const items = this.queue.splice(0);
    this.queued = 0;
    this.lastDue = performance.now();
    // Each one queued again schedules the (new) head. Data keeps its order (enqueueAt()); the
    // latency is the one in force now, without jitter.
    for (const { arrived, slowFin, item } of items) {
      const base = arrived + this.latency() + (slowFin ? this.slowCloseDelay() : 0);
      if (typeof item === 'string') this.enqueueAt(item, base, arrived, slowFin);
      else this.shape(item, base, arrived);
    }
  }

  private onEnd(): void {
    this.ended = true;
    this.link.sourceEnded(this);
    this.passEnd();
  }

  /** The toxics changed: an end a `timeout` toxic held goes on if none holds it any more. */
  releaseEnd(): void {
    if (!this.endHeld || this.link.active(this.stream).some((toxic) => toxic.type === 'timeout')) return;
    this.endHeld = false;
    this.passEnd();
  }

  /** Passes the source's end on: a reset as a reset, a FIN after the stream's delays. */
  private passEnd(): void {
    if (this.link.ending !== null) return;
    // libuv often reads an RST as EOF: the kernel still holds the error, and only it can tell.
    // EPIPE means a FIN came first, then the reset: pass on both, in that order.
    const pending = pendingReset(this.src);
    if (pending !== null) {
      this.link.passReset(this, pending === 'EPIPE');
      return;
    }
    let delay = this.latency();
    for (const toxic of this.link.active(this.stream)) {
      // A stream that lets nothing through lets its FIN through neither: the peer sees a hang.
      if (toxic.type === 'timeout') {
        // Held, not lost: removing the toxic lets it through (as Toxiproxy passes on the EOF).
        this.endHeld = true;
        this.drop(0, toxic);
        return;
      }
      if (toxic.type === 'slow_close') {
        delay += toxic.attributes.delay;
        this.link.note(toxic, 'delay-fin');
      }
    }
    this.enqueue('fin', delay, true);
    this.watchForReset();
  }

  /**
   * After the source's FIN, libuv reads no more from it, and nothing is written to it while the
   * other direction is idle: a reset that follows the FIN (FIN then RST) would reach nobody, the
   * peer across left with a clean FIN. So its pending error is polled until the source closes or
   * the link ends otherwise, and a reset found is passed on after the FIN, as FIN-then-RST.
   */
  private watchForReset(): void {
    let delay = 1;
    const look = (): void => {
      this.resetWatch = undefined;
      if (this.src.destroyed || this.link.ending !== null) return;
      const pending = pendingReset(this.src);
      if (pending !== null) {
        this.link.passReset(this, pending === 'EPIPE');
        return;
      }
      delay = Math.min(delay * 2, RESET_POLL_MAX_MS);
      this.resetWatch = setTimeout(look, delay);
    };
    this.resetWatch = setTimeout(look, delay);
    this.src.once('close', () => clearTimeout(this.resetWatch));
  }

  /** Queues an end after the data already queued (with this stream's latency). */
  end(item: 'fin' | 'rst' | 'fin-rst'): void {
    this.enqueue(item, this.latency());
  }

  /** Drops everything still queued (and stops looking for a reset of the source). */
  clear(): void {
    clearTimeout(this.timer);
    clearTimeout(this.resetWatch);
    this.queue.length = 0;
    this.queued = 0;
  }

  private latency(): number {
    let delay = 0;
    for (const toxic of this.link.active(this.stream)) {
      if (toxic.type === 'latency') delay += Math.max(0, toxic.attributes.latency);
    }
    return delay;
  }

  /** The slow_close delay in force on this stream's FIN. */
  private slowCloseDelay(): number {
    let delay = 0;
    for (const toxic of this.link.active(this.stream)) {
      if (toxic.type === 'slow_close') delay += toxic.attributes.delay;
    }
    return delay;
  }

  private drop(bytes: number, toxic: Toxic): void {
    this.dropped += bytes;
    if (!this.dropNoted.has(toxic.name)) {
      this.dropNoted.add(toxic.name);
      this.link.note(toxic, 'drop');
    }
  }

  private enqueue(item: Item, delay: number, slowFin = false): void {
    const now = performance.now();
    this.enqueueFrom(item, now + delay, now, slowFin);
  }

  /** Passes `item` on at `at`: at once if that is now and nothing waits before it. */
  private enqueueFrom(item: Item, at: number, arrived: number, slowFin = false): void {
    if (this.resetOut) return;
    if (at <= performance.now() && this.queue.length === 0) {
      this.deliver(item);
      return;
    }
    this.enqueueAt(item, at, arrived, slowFin);
  }

  private enqueueAt(item: Item, at: number, arrived: number, slowFin = false): void {
    if (this.resetOut) return;
    // Never before an earlier item: data and ends keep their order, whatever the jitter.
    const due = Math.max(this.lastDue, at);
    this.lastDue = due;
    this.queue.push({ due, arrived, slowFin, item });
    if (typeof item !== 'string') this.queued += item.length;
    this.flow();
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const head = this.queue[0];
    if (!head) return;
    // Rounded up: Node's timers count from the loop's cached time and can fire early by real time;
    // release() then finds the head not due yet and waits out the rest here.
    this.timer = setTimeout(() => this.release(), Math.max(0, Math.ceil(head.due - performance.now())));
  }

  private release(): void {
    const now = performance.now();
    // Never before its time: a toxic's delay is "at least" (a latency of 150 ms once passed the
    // client's bytes on after 149.984 ms, with half a millisecond of slack here).
    while (this.queue.length > 0 && this.queue[0]!.due <= now) {
      const { item } = this.queue.shift()!;
      if (typeof item !== 'string') this.queued -= item.length;
      this.deliver(item);
    }
    this.flow();
    this.schedule();
  }

  private deliver(item: Item): void {
    if (this.dst.destroyed || this.resetOut) return;
    if (item === 'rst' || item === 'fin-rst') {
      // A reset still goes out after a FIN: that is what the peer would have seen.
      this.resetOut = true;
      if (item === 'fin-rst' && !this.closedOut) this.dst.end();
      this.closedOut = true;
      void this.link.resetAfterFlush(this.dst, item === 'fin-rst');
    } else if (this.closedOut) {
      return;
    } else if (item === 'fin') {
      this.closedOut = true;
      this.dst.end();
    } else {
      this.passed += item.length;
      this.dst.write(item);
      this.flow();
    }
  }

  /** Pauses the source while the destination or the latency queue is full; resumes after. */
  private flow(): void {
    if (this.src.destroyed || this.ended) return;
    const full = this.dst.writableNeedDrain || this.queued > HIGH_WATER;
    if (full && !this.src.isPaused()) this.src.pause();
    else if (!full && this.src.isPaused()) this.src.resume();
  }
}

/** One proxied connection. */
export class Link {
  ending: 'reset' | 'close' | null = null;
  private upstream: net.Socket | null = null;
  private pipes: { upstream: Pipe; downstream: Pipe } | null = null;
  private readonly origin = performance.now();
  private readonly states = new Map<string, ToxicState>();
  private readonly events: ToxicEvent[] = [];
  private endedBy: ProxyLinkReport['endedBy'] | null = null;
  /** The side whose end (FIN, or an RST Node read as one) came first: who ended it, when nothing else did. */
  private firstEnd: 'client' | 'upstream' | null = null;
  private upstreamError: string | null = null;
  private closeTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  /** The next look for the client's reset while the upstream connect is under way (watchClient()). */
  private clientWatch: NodeJS.Timeout | undefined;
  readonly done: Promise<ProxyLinkReport>;

  constructor(
    readonly id: number,
    private readonly owner: LinkOwner,
    private readonly client: net.Socket,
  ) {
    const remote = { host: client.remoteAddress ?? '', port: client.remotePort ?? 0 };
    const clientSide = observeClose(client, { side: 'server' });
    const upstream = net.connect({ host: owner.upstream.host, port: owner.upstream.port, allowHalfOpen: true });
    this.upstream = upstream;
    const upstreamSide = observeClose(upstream, { side: 'client' });
    const unreachable = (code: string) => {
      // Nothing to connect the client to: reset it, as an unreachable server's RST would.
      this.upstreamError = code;
      this.endedBy ??= 'upstream-connect';
      if (!client.destroyed) hardReset(client);
    };
    // The kernel retries unanswered SYNs for about two minutes: the client would hang that long.
    this.connectTimer = setTimeout(() => {
      if (this.pipes !== null || upstream.destroyed) return;
      upstream.destroy();
      unreachable('ETIMEDOUT');
    }, owner.connectTimeoutMs);
    upstream.once('connect', () => {
      clearTimeout(this.connectTimer);
      clearTimeout(this.clientWatch);
      this.established(upstream);
    });
    upstream.once('error', (error: Error & { code?: string }) => {
      if (this.pipes === null) unreachable(error.code ?? error.message);
    });
    client.once('close', () => {
      clearTimeout(this.clientWatch);
      if (this.pipes === null && !upstream.destroyed) upstream.destroy();
      this.settle();
    });
    upstream.once('close', () => {
      clearTimeout(this.connectTimer);
      clearTimeout(this.clientWatch);
      this.settle();
    });
    this.watchClient(upstream);
    client.on('error', () => this.socketFailed(client));
    upstream.on('error', () => this.socketFailed(upstream));

    this.done = Promise.all([clientSide, upstreamSide]).then(([clientObservation, upstreamObservation]) => {
      clearTimeout(this.closeTimer);
      clearTimeout(this.connectTimer);
      clearTimeout(this.clientWatch);
      for (const state of this.states.values()) state.timer?.cancel();
      this.pipes?.upstream.clear();
      this.pipes?.downstream.clear();
      return {
        id,
        client: remote,
        bytes: {
          upstream: this.pipes?.upstream.passed ?? 0,
          downstream: this.pipes?.downstream.passed ?? 0,
          droppedUpstream: this.pipes?.upstream.dropped ?? 0,
          droppedDownstream: this.pipes?.downstream.dropped ?? 0,
        },
        toxics: this.events,
        endedBy: this.endedBy ?? this.firstEnd ?? 'client',
        upstreamError: this.upstreamError,
        clientSide: clientObservation,
        upstreamSide: upstreamObservation.timings.connectMs === null ? null : upstreamObservation,
      };
    });
  }

  /** The toxics of `stream` that apply to this connection. */
  active(stream: ToxicStream): Toxic[] {
    return this.owner.toxics().filter((toxic) => toxic.stream === stream && this.states.get(toxic.name)?.applies === true);
  }

  /** A toxic now applies (at connect, or added while running): roll its toxicity, start its clock. */
  apply(toxic: Toxic): void {
    if (this.pipes === null || this.states.has(toxic.name)) return;
    const base = toxic.stream === 'upstream' ? this.pipes.upstream.accepted : this.pipes.downstream.accepted;
    const state: ToxicState = { applies: toxic.toxicity >= 1 || Math.random() < toxic.toxicity, timer: undefined, triggered: false, base };
    this.states.set(toxic.name, state);
    if (!state.applies) return;
    if (toxic.type === 'timeout' && toxic.attributes.timeout > 0) {
      state.timer = after(toxic.attributes.timeout, () => this.closeBoth(toxic));
    } else if (toxic.type === 'reset_peer' && toxic.attributes.from === 'connect') {
      state.triggered = true;
      state.timer = after(toxic.attributes.timeout, () => this.resetBoth(toxic));
    }
  }

  /** The byte count of the toxic's stream when it began to apply to this connection. */
  base(toxic: Toxic): number {
    return this.states.get(toxic.name)?.base ?? 0;
  }

  /** A toxic was removed (or is being replaced): stop its clock. */
  unapply(name: string): void {
    this.states.get(name)?.timer?.cancel();
    this.states.delete(name);
  }

  /**
   * The proxy's toxics changed (after every unapply() and apply() of the change): queued data is
   * shaped again by the toxics now in force, and an end that a removed `timeout` toxic held back is
   * passed on now.
   */
  toxicsChanged(): void {
    this.pipes?.upstream.retime();
    this.pipes?.downstream.retime();
    this.pipes?.upstream.releaseEnd();
    this.pipes?.downstream.releaseEnd();
  }

  /** The source of `pipe` ended its stream (Node's 'end'). */
  sourceEnded(pipe: Pipe): void {
    this.firstEnd ??= pipe.stream === 'upstream' ? 'client' : 'upstream';
  }

  /** reset_peer's first byte: start its clock once. */
  trigger(toxic: Toxic): void {
    const state = this.states.get(toxic.name);
    if (!state || state.triggered) return;
    state.triggered = true;
    const timeout = toxic.type === 'reset_peer' ? toxic.attributes.timeout : 0;
    state.timer = after(timeout, () => this.resetBoth(toxic));
  }

  /** limit_data passed its last byte on `pipe`: close or reset, after those bytes. */
  limitReached(toxic: Toxic, pipe: Pipe): void {
    if (this.ending !== null || toxic.type !== 'limit_data') return;
    this.note(toxic, toxic.attributes.mode === 'reset' ? 'reset' : 'close');
    this.endedBy = 'toxic';
    if (toxic.attributes.mode === 'reset') {
      this.ending = 'reset';
      this.other(pipe).clear();
      pipe.end('rst');
    } else {
      this.ending = 'close';
      pipe.end('fin');
      this.other(pipe).end('fin');
      this.drainThenClose();
    }
  }

  /**
   * The source of `pipe` reset its connection: reset the other side after the data before it (and
   * after a FIN, when the FIN came first).
   */
  passReset(pipe: Pipe, afterFin = false): void {
    if (this.ending === 'reset') return;
    this.ending = 'reset';
    this.endedBy ??= pipe.stream === 'upstream' ? 'client' : 'upstream';
    this.other(pipe).clear();
    pipe.end(afterFin ? 'fin-rst' : 'rst');
  }

  /** Records what a toxic did. */
  note(toxic: Toxic, action: ToxicEvent['action']): void {
    const event: ToxicEvent = { toxic: toxic.name, type: toxic.type, stream: toxic.stream, action, atMs: this.since() };
    this.events.push(event);
    this.owner.toxicActed(event, this.id);
  }

  /**
   * Waits (bounded) until `socket` has delivered what it was given (and its FIN has left, with
   * `afterFin`), then resets both sockets.
   */
  async resetAfterFlush(socket: net.Socket, afterFin: boolean): Promise<void> {
    if (afterFin) await finishedWriting(socket);
    await waitForKernel(socket, afterFin ? finSent : allAcknowledged, FLUSH_MS);
    this.resetSockets();
  }

  /** Resets both connections now (the proxy's RST command). False if it was already ending by reset. */
  reset(): boolean {
    if (this.ending === 'reset') return false;
    this.ending = 'reset';
    this.endedBy = 'proxy-reset';
    this.resetSockets();
    return true;
  }

  /** Ends the proxy's connections at once (the proxy is closing, or going down). */
  destroy(why: 'proxy-close' | 'proxy-down' = 'proxy-close'): void {
    this.endedBy ??= why;
    this.ending ??= 'reset';
    if (!this.client.destroyed) this.client.destroy();
    if (this.upstream && !this.upstream.destroyed) this.upstream.destroy();
  }

  /**
   * While the upstream connect is under way the client's socket is paused: no read is pending, so
   * nothing tells of its reset, and a client that gave up would be held (and counted) until
   * connectTimeoutMs. Its kernel is polled instead: a reset (pending, or read: CLOSE) ends the link
   * at once, the connect abandoned, as the client's ending. Its FIN is no departure: a half-closed
   * client may still read the answer.
   */
  private watchClient(upstream: net.Socket): void {
    let delay = 1;
    const look = (): void => {
      this.clientWatch = undefined;
      if (this.pipes !== null || this.client.destroyed || upstream.destroyed) return;
      if (clientReset(this.client)) {
        this.endedBy ??= 'client';
        this.client.destroy();
        upstream.destroy();
        return;
      }
      delay = Math.min(delay * 2, RESET_POLL_MAX_MS);
      this.clientWatch = setTimeout(look, delay);
    };
    this.clientWatch = setTimeout(look, delay);
  }

  private established(upstream: net.Socket): void {
    if (this.client.destroyed) {
      upstream.destroy();
      return;
    }
    // Every write goes out as it is made, as Toxiproxy's (Go's) connections do: slicer's pieces
    // must reach the peer as separate segments, not coalesced by Nagle's algorithm.
    this.client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.pipes = {
      upstream: new Pipe(this, 'upstream', this.client, upstream),
      downstream: new Pipe(this, 'downstream', upstream, this.client),
    };
    for (const toxic of this.owner.toxics()) this.apply(toxic);
    this.pipes.upstream.start();
    this.pipes.downstream.start();
  }

  private resetBoth(toxic: Toxic): void {
    if (this.ending === 'reset') return;
    this.ending = 'reset';
    this.endedBy = 'toxic';
    this.note(toxic, 'reset');
    this.resetSockets();
  }

  private closeBoth(toxic: Toxic): void {
    if (this.ending !== null || this.pipes === null) return;
    this.ending = 'close';
    this.endedBy = 'toxic';
    this.note(toxic, 'close');
    this.pipes.upstream.end('fin');
    this.pipes.downstream.end('fin');
    this.drainThenClose();
  }

  /** After our FINs: read and discard until both peers' FINs (bounded), so the closes stay FINs. */
  private drainThenClose(): void {
    for (const socket of [this.client, this.upstream]) {
      if (!socket || socket.destroyed) continue;
      const close = () => {
        if (socket.writableFinished) socket.destroy();
        else socket.once('finish', () => socket.destroy());
      };
      if (socket.readableEnded) close();
      else socket.once('end', close);
      // Paused for flow control, it would never see the peer's FIN: read (and drop) again.
      socket.resume();
    }
    this.armCloseTimer();
  }

  /** The last resort once a close has begun: destroy whatever is still open after CLOSE_MS. */
  private armCloseTimer(): void {
    this.closeTimer ??= setTimeout(() => {
      for (const socket of [this.client, this.upstream]) if (socket && !socket.destroyed) socket.destroy();
    }, CLOSE_MS);
  }

  private resetSockets(): void {
    this.pipes?.upstream.clear();
    this.pipes?.downstream.clear();
    for (const socket of [this.client, this.upstream]) {
      if (socket && !socket.destroyed) hardReset(socket);
    }
  }

  private socketFailed(socket: net.Socket): void {
    if (this.pipes === null) return;
    // Node destroyed the socket with an error: its peer reset it (or it broke). Pass it on, after
    // the data that came before it.
    this.passReset(socket === this.client ? this.pipes.upstream : this.pipes.downstream);
  }

  private settle(): void {
    // One side closed on its own (both FINs done, or destroyed): the other must not linger forever.
    const clientClosed = this.client.destroyed;
    const upstreamClosed = this.upstream?.destroyed ?? true;
    if (clientClosed && upstreamClosed) return;
    this.armCloseTimer();
  }

  private other(pipe: Pipe): Pipe {
    return pipe === this.pipes!.upstream ? this.pipes!.downstream : this.pipes!.upstream;
  }

  private since(): number {
    return Math.round((performance.now() - this.origin) * 1000) / 1000;
  }
}

function jitter(amount: number): number {
  return amount === 0 ? 0 : Math.round((Math.random() * 2 - 1) * amount);
}

/** `chunk` cut into slices of `average_size` ± `size_variation` bytes (views, no copies). */
function slice(chunk: Buffer, { average_size, size_variation }: { average_size: number; size_variation: number }): Buffer[] {
  if (chunk.length <= average_size - size_variation) return [chunk];
  const slices: Buffer[] = [];
  for (let start = 0; start < chunk.length; ) {
    const size = Math.max(1, average_size + jitter(size_variation));
    slices.push(chunk.subarray(start, start + size));
    start += size;
  }
  return slices;
}

/** The reset the kernel holds for this socket ('ECONNRESET', 'EPIPE'), or null (also where it cannot tell). */
function pendingReset(socket: net.Socket): string | null {
  try {
    return peekSocketError(socket)?.code ?? null;
  } catch {
    return null;
  }
}

// clientReset() asks only whether an error is pending, not its name: no FIN count is probed for it.
const NO_FIN_COUNT: PeekContext = { transport: 'tcp', finCounted: () => false };
const ERR_OR_HUP = Revents.err | Revents.hup;

/**
 * Whether the kernel shows `socket`'s peer reset it: an error pending, or CLOSE (false where it
 * cannot tell). inspectSocket()'s answer to that, at a fraction of its cost (watchClient() asks
 * every few milliseconds per connecting link): where a poll alone clears a socket of a pending
 * error (Linux) one poll() answers while the client is there, since it shows CLOSE too (POLLHUP:
 * tcp_poll()); only POLLERR or POLLHUP, and other platforms, pay for the probe of the state and
 * the pending error.
 */
function clientReset(socket: net.Socket): boolean {
  const fd = liveTcpFd(socket);
  // Not a live TCP socket (destroyed; the proxy accepts nothing else), or no binary: cannot tell.
  const native = fd >= 0 ? binding() : null;
  if (native === null) return false;
  const rules = platform();
  if (rules.peekClearedByPoll) {
    const revents = native.pollRevents(fd);
    if (revents >= 0 && (revents & ERR_OR_HUP) === 0) return false;
  }
  if (native.probe(fd, rules.peekFields | Field.tcp) < 0) return false;
  if (rules.tcpState(record, 'tcp') === State.CLOSE) return true;
  return rules.peekFields !== 0 && rules.pendingError(record, NO_FIN_COUNT) !== null;
}

/** Resolves once `socket`'s end() has handed the FIN to the kernel (or it closed), bounded. */
function finishedWriting(socket: net.Socket): Promise<void> {
  if (socket.writableFinished || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, FLUSH_MS);
    function done(): void {
      clearTimeout(timer);
      socket.off('finish', done).off('close', done);
      resolve();
    }
    socket.once('finish', done).once('close', done);
  });
}
