// The fault server's behaviours: each one a way for a server to end a connection, done exactly.
// "Exactly" means the fault happens at a known point of the connection, not at a time that hopes
// the point was reached: a reset "after N bytes" waits until the peer's kernel has acknowledged
// those N bytes, a "FIN then reset" waits until every byte has left and then sends both at once,
// a "close with unread input" waits until input is really waiting. These points have no event,
// so they are polled from the kernel (kernel-wait.ts), bounded by the server's timeout. So is
// each wait on our own writing (write(), fin()): a peer that does not read holds a response larger
// than the socket buffers in Node for ever, and the fault must still come.
// A peer that leaves while a behaviour waits (out delayMs, or for it, within timeoutMs) ends the
// wait: a paused socket hears of no FIN or RST, so that too is polled from the kernel (watchPeer,
// waitForPeer).
import type net from 'node:net';

import { hardReset } from '../hard-reset.js';
import { inspectSocket, type SocketInspection } from '../inspect-socket.js';
import { lingeringClose } from '../lingering/index.js';
import type { TcpStateName } from '../native/layout.js';
import { unwrittenBytes, type SocketInternals } from '../node-handle.js';
import { shutdownWrite } from '../shutdown-write.js';
import { socketFd } from '../socket-fd.js';
import { abortError, delay } from './clock.js';
import type { EndKind } from './close-verdict.js';
import { allAcknowledged, finSent, hasUnreadInput, nothingUnsent, unreadInputSettled, waitForKernel } from './kernel-wait.js';
import { readRequestHead, responsePayload, type FaultProtocol } from './payload.js';

/** One line per behaviour: what the server does. The CLI's help prints these. */
export const FAULT_BEHAVIORS = {
  'reset-on-accept': "RST as soon as the connection is accepted (after delayMs); a peer that reset first gets none: a 'peer-left' step",
  'reset-after-bytes':
    "write `bytes` bytes of the response, wait until the peer acknowledged all of them (then delayMs), RST; a peer that reset first gets none: a 'peer-left' step",
  'close-with-unread':
    'write the response without reading the request, wait until request bytes are waiting unread, close: the kernel sends RST (the seed 004 server)',
  'fin-then-reset':
    "write the response; once it has left, FIN and RST back to back (or the RST delayMs after the FIN): the peer's kernel names it EPIPE. A peer that answers the FIN with its own first (one that closes at EOF often does, even back to back) leaves nothing to reset: no RST, a 'peer-left' step",
  'half-close': "write the response and FIN, keep reading, close only after the peer's FIN",
  'slow-close': "write the response, read until the peer's FIN, wait delayMs, then FIN",
  stall: 'accept, then never read, write or close',
  close: "accept and close cleanly at once, saying nothing: FIN, read and discard until the peer's FIN",
  'lingering-close': "write the response, FIN, read and discard until the peer's FIN (idle 2 s, cap 30 s), close: the correct close",
  echo: "send back what arrives (reading no faster than the peer reads); FIN after the peer's FIN",
} as const;

/** A fault server behaviour; see {@link FAULT_BEHAVIORS}. */
export type FaultBehavior = keyof typeof FAULT_BEHAVIORS;

/** Every behaviour name. */
export const BEHAVIOR_NAMES: readonly FaultBehavior[] = Object.freeze(Object.keys(FAULT_BEHAVIORS) as FaultBehavior[]);

/** A behaviour with every option resolved. */
export interface BehaviorSettings {
  /** How each connection ends; see {@link FAULT_BEHAVIORS}. */
  behavior: FaultBehavior;
  /** `'raw'`: read nothing first, write bare bytes; `'http'`: read the request head first, answer with an HTTP/1.1 response. */
  protocol: FaultProtocol;
  /** Bytes of response body. */
  responseBytes: number;
  /** reset-after-bytes: wire bytes written before the reset. */
  bytes: number;
  /** The pause before the behaviour's last step (see FAULT_BEHAVIORS); cut short if the peer leaves (a `'peer-left'` step). */
  delayMs: number;
  /**
   * Bound on each wait for the peer: the request head or byte, the acknowledgement, unread input,
   * every byte or our FIN having left; and on each wait for our own writing to reach the kernel
   * (the response, Node's end() behind queued bytes), which a peer that does not read holds. A
   * wait that runs out says `result: 'timeout'` in its step and the behaviour goes on to its fault.
   * Not bounded: the waits for the peer's FIN (half-close, slow-close, echo).
   */
  timeoutMs: number;
  /** raw: act only once the client has sent a byte (left unread). http always waits for the head. */
  awaitRequest: boolean;
  /** lingering-close and close: idle timeout between reads, in ms. */
  lingerIdleMs: number;
  /** lingering-close and close: total cap on the lingering close, in ms. */
  lingerMaxMs: number;
}

/** What a behaviour gets: its socket (paused, nothing read), settings, and a step log. */
export interface BehaviorContext {
  readonly socket: net.Socket;
  readonly settings: BehaviorSettings;
  /** Aborted when the server closes: waits end (rejecting with an AbortError), the socket is destroyed by the server. */
  readonly signal: AbortSignal;
  /** Records a step of the behaviour in the connection's report. */
  step(name: string, detail?: Record<string, unknown>): void;
}

type Behavior = (context: BehaviorContext) => Promise<void>;

const behaviors: Record<FaultBehavior, Behavior> = {
  async 'reset-on-accept'(context) {
    const { socket, settings, step } = context;
    // Not even an HTTP request head is awaited; with awaitRequest, a first byte (left unread).
    if (settings.awaitRequest && !(await waitForPeer(context, 'request', hasUnreadInput, true))) return;
    // Its FIN alone is no departure: a half-closed client may still read, and the RST is the fault.
    if (settings.delayMs > 0 && !(await pause(context, false))) return;
    reset(socket, step);
  },

  async 'reset-after-bytes'(context) {
    const { socket, settings, step } = context;
    if (!(await awaitRequest(context))) return;
    const payload = responsePayload(settings.protocol, settings.responseBytes).subarray(0, settings.bytes);
    await write(context, payload);
    // Its FIN does not end this wait: a half-closed peer may still read, and acknowledge.
    if (!(await waitForPeer(context, 'acknowledged', allAcknowledged, false))) return;
    if (settings.delayMs > 0 && !(await pause(context, false))) return;
    reset(socket, step);
  },

  async 'close-with-unread'(context) {
    const { socket, settings, step } = context;
    if (!(await awaitRequest(context))) return;
    await write(context, responsePayload(settings.protocol, settings.responseBytes));
    // Input must be waiting for the close to reset (in http, a request body: a GET has none).
    const unread = await waitForKernel(socket, unreadInputSettled, settings.timeoutMs);
    step('unread-input', { result: unread, unreadBytes: unreadNow(socket) });
    // A plain close, as the seed's server does: with input unread, the kernel turns it into RST.
    if (!socket.destroyed) {
      step('close');
      socket.destroy();
    }
  },

  async 'fin-then-reset'(context) {
    const { socket, settings, step } = context;
    if (!(await awaitRequest(context))) return;
    await write(context, responsePayload(settings.protocol, settings.responseBytes));
    if (settings.delayMs === 0) {
      // FIN and RST back to back, in one turn of the event loop, once every byte has left: a peer
      // that does not answer the FIN at once is in CLOSE_WAIT when the RST comes, where the reset
      // is named EPIPE.
      step('all-sent', { result: await waitForKernel(socket, nothingUnsent, settings.timeoutMs) });
      if (socket.destroyed) return;
      await shutdownNow(socket, step);
      // A peer that closes on EOF answers the FIN within microseconds on loopback, often before
      // the reset (even shutdown(2) alone takes longer): then there is nothing left to reset, and
      // the report says so (reset()).
      reset(socket, step);
      return;
    }
    await fin(context);
    const sent = await waitForKernel(socket, finSent, settings.timeoutMs);
    step('fin-sent', { result: sent });
    // After our FIN, the peer's means both directions are over: nobody is left to reset.
    if (!(await pause(context, true))) return;
    // The pause polls: the peer's FIN may have come since its last look (reset() says how that
    // is reported).
    reset(socket, step);
  },

  async 'half-close'(context) {
    const { socket, settings, step } = context;
    if (!(await awaitRequest(context))) return;
    await write(context, responsePayload(settings.protocol, settings.responseBytes));
    await fin(context);
    socket.resume();
    await peerEnd(socket, step);
    closeCleanly(socket);
  },

  async 'slow-close'(context) {
    const { socket, settings, step } = context;
    if (!(await awaitRequest(context))) return;
    await write(context, responsePayload(settings.protocol, settings.responseBytes));
    socket.resume();
    if (!(await peerEnd(socket, step))) return;
    // The peer's FIN is what this delay follows: only its reset means it left.
    if (!(await pause(context, false))) return;
    await fin(context);
    closeCleanly(socket);
  },

  async stall({ step }) {
    step('stall');
  },

  async close(context) {
    const { settings } = context;
    // No request is awaited and, unless responseBytes asks, nothing is said, not even an HTTP
    // head: the point is a clean close before any answer (http clients: "socket hang up").
    const payload = settings.responseBytes > 0 ? responsePayload(settings.protocol, settings.responseBytes) : Buffer.alloc(0);
    await linger(context, payload);
  },

  async 'lingering-close'(context) {
    const { settings } = context;
    if (!(await awaitRequest(context))) return;
    await linger(context, responsePayload(settings.protocol, settings.responseBytes));
  },

  async echo(context) {
    const { socket, step } = context;
    // With backpressure: a peer that sends and does not read is held by the kernel's buffers (its
    // writes block), not by this server's memory, which would grow by all it sends.
    socket.on('data', (chunk: Buffer) => {
      if (socket.write(chunk) || socket.isPaused()) return;
      socket.pause();
      socket.once('drain', () => socket.resume());
    });
    // Accepted paused (readableFlowing false): a 'data' listener alone does not start the flow.
    socket.resume();
    await peerEnd(socket, step);
    await fin(context);
    closeCleanly(socket);
  },
};

/** Runs `settings.behavior` on a freshly accepted, paused socket. Settles when it is done. */
export function runBehavior(context: BehaviorContext): Promise<void> {
  return behaviors[context.settings.behavior](context);
}

/** Waits for the request (see BehaviorSettings.awaitRequest). False if the peer left meanwhile. */
async function awaitRequest(context: BehaviorContext): Promise<boolean> {
  const { socket, settings, step } = context;
  if (settings.protocol !== 'http') {
    // A FIN ends the wait: no byte can follow it. The behaviour goes on (the peer may still read).
    return !settings.awaitRequest || (await waitForPeer(context, 'request', hasUnreadInput, true));
  }
  const head = await readRequestHead(socket, settings.timeoutMs);
  step('request-head', { result: head.outcome, bytesRead: head.bytesRead });
  // Closed meanwhile (the peer's reset, or the server's close()): nobody is left to fault, and
  // none of the behaviour's later waits takes place.
  return head.outcome !== 'closed' && !socket.destroyed;
}

/**
 * A wait for the peer (bounded by `timeoutMs`, logged as a `name` step with its result) that the
 * peer's departure ends at once: its reset, or both FINs exchanged. Then, as after delayMs, a
 * `'peer-left'` step, the socket closed, and false: nobody is left to fault. With `finEnds`, its
 * FIN ends the wait too (`'peer-finished'`: the wait was for its input, and none can follow), and
 * the behaviour goes on.
 */
async function waitForPeer(
  { socket, settings, step }: BehaviorContext,
  name: string,
  condition: (inspection: SocketInspection, socket: net.Socket) => boolean,
  finEnds: boolean,
): Promise<boolean> {
  let departure = null as Departure | null;
  const result = await waitForKernel(socket, condition, settings.timeoutMs, (inspection) => {
    departure = peerDeparture(inspection, false);
    if (departure !== null) return 'peer-left';
    return finEnds && peerFinIn(inspection) ? 'peer-finished' : null;
  });
  step(name, { result });
  // Closed meanwhile (the server's close(), or a reset Node saw before any look did): the behaviour
  // ends here, as after a departure, without steps for waits that never took place.
  if (result === 'closed') return false;
  if (departure === null) return true;
  step('peer-left', { ...departure });
  if (!socket.destroyed) socket.destroy();
  return false;
}

/** How the peer left while a behaviour waited: the `'peer-left'` step's detail. */
interface Departure {
  /** `'fin'` (its FIN, or both FINs exchanged), `'rst'`, or `'fin-rst'` (a reset after its FIN: EPIPE). */
  end: Exclude<EndKind, 'none'>;
  /** The TCP state the server's socket was found in. */
  state: TcpStateName | null;
  /** The reset the kernel holds pending (`'ECONNRESET'`, `'EPIPE'`), or null. */
  error: string | null;
}

// The peer's departure is polled (no event says it on a paused socket): from 1 ms, backing off to
// this, so a client that leaves during a long delay is reported within about this long.
const DEPARTURE_POLL_MAX_MS = 50;

// States only the peer's FIN leads to.
const PEER_FIN_STATES = new Set<TcpStateName | null>(['CLOSE_WAIT', 'LAST_ACK', 'CLOSING', 'TIME_WAIT']);

/**
 * Waits out `delayMs`. Resolves true once it has passed. Resolves false at once if the peer leaves
 * first (its reset; its FIN too where `finLeaves`: only where that ends both directions, since a
 * half-closed peer may still read), after a `'peer-left'` step and a close: with nobody left to
 * fault, the behaviour's last step is skipped. Also false if the socket closes meanwhile. Rejects
 * with an AbortError when the server closes, as delay() does.
 */
async function pause({ socket, settings, signal, step }: BehaviorContext, finLeaves: boolean): Promise<boolean> {
  // One signal for delay(): the server closing or the peer leaving (AbortSignal.any() is Node 20+).
  const cut = new AbortController();
  const relay = () => cut.abort();
  signal.addEventListener('abort', relay, { once: true });
  if (signal.aborted) cut.abort();
  const stopWatching = watchPeer(socket, finLeaves, (departure) => {
    if (departure) step('peer-left', { ...departure });
    cut.abort();
  });
  try {
    await delay(settings.delayMs, cut.signal);
    return true;
  } catch (error) {
    if (signal.aborted) throw error;
  } finally {
    stopWatching();
    signal.removeEventListener('abort', relay);
  }
  // Its FIN still gets ours (or, with input unread, the kernel's RST); after its reset the close sends nothing.
  if (!socket.destroyed) socket.destroy();
  return false;
}

/**
 * Calls `onGone` once, as soon as the peer has left (with how) or the socket has closed (null),
 * and never after the returned stop function is called. Looks at once, then polls the kernel.
 */
function watchPeer(socket: net.Socket, finLeaves: boolean, onGone: (departure: Departure | null) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  function stop(): void {
    clearTimeout(timer);
    socket.off('close', onClose);
  }
  function gone(departure: Departure | null): void {
    stop();
    onGone(departure);
  }
  function onClose(): void {
    gone(null);
  }
  function look(nextMs: number): void {
    if (socket.destroyed) return gone(null);
    let inspection: SocketInspection;
    try {
      inspection = inspectSocket(socket);
    } catch {
      return gone(null);
    }
    const departure = peerDeparture(inspection, finLeaves);
    if (departure) return gone(departure);
    timer = setTimeout(look, nextMs, Math.min(nextMs * 2, DEPARTURE_POLL_MAX_MS));
  }
  socket.once('close', onClose);
  look(1);
  return stop;
}

/**
 * How the peer has ended the connection, as the kernel shows it, or null while it has not: a
 * pending reset (EPIPE when its FIN came first), CLOSE (both FINs exchanged, or a reset whose
 * error was read), or, when `finLeaves`, its FIN.
 */
function peerDeparture(inspection: SocketInspection, finLeaves: boolean): Departure | null {
  const { state, peerFinReceived } = inspection;
  const error = inspection.pendingError?.code ?? null;
  if (error !== null) return { end: error === 'EPIPE' ? 'fin-rst' : 'rst', state, error };
  if (state === 'CLOSE') return { end: peerFinReceived === false ? 'rst' : 'fin', state, error };
  if (finLeaves && peerFinIn(inspection)) return { end: 'fin', state, error };
  return null;
}

/** Whether the peer's FIN has arrived (counted, or a state only it leads to). */
function peerFinIn({ state, peerFinReceived }: SocketInspection): boolean {
  return peerFinReceived === true || PEER_FIN_STATES.has(state);
}

function unreadNow(socket: net.Socket): number | null {
  try {
    return inspectSocket(socket).unreadBytes;
  } catch {
    return null;
  }
}

/**
 * Writes and waits until Node has handed everything to the kernel (or the socket closed), at most
 * `timeoutMs`: a peer that does not read holds a response larger than the socket buffers for ever.
 * The `'wrote'` step says `{ bytes }` (and `error`), or `{ bytes, result: 'timeout', queuedBytes }`.
 */
async function write(context: BehaviorContext, payload: Buffer): Promise<void> {
  const { socket, step } = context;
  if (payload.length === 0 || socket.destroyed) return;
  const written = new Promise<Error | null | undefined>((resolve) => socket.write(payload, resolve));
  const outcome = await bounded(context, written);
  if (outcome === 'timeout') step('wrote', { bytes: payload.length, result: 'timeout', queuedBytes: unwrittenBytes(socket as SocketInternals) });
  else step('wrote', { bytes: payload.length, ...(outcome ? { error: errorName(outcome) } : {}) });
}

/**
 * Node's end(): our FIN, once everything queued before it has been written. With bytes still
 * queued (a peer that does not read), at most `timeoutMs`: then a `'fin'` step says
 * `{ result: 'timeout', queuedBytes }` (Node sends the FIN if they ever drain) and the behaviour
 * goes on.
 */
async function fin(context: BehaviorContext): Promise<void> {
  const { socket, step } = context;
  if (socket.destroyed) return;
  const queued = socket.writableLength > 0;
  const ended = shutdownWrite(socket).then(() => null, (error: Error) => error);
  // With nothing queued the FIN is handed to the kernel at once: no bound needed.
  const outcome = queued ? await bounded(context, ended) : await ended;
  if (outcome === 'timeout') step('fin', { result: 'timeout', queuedBytes: unwrittenBytes(socket as SocketInternals) });
  else if (outcome) step('fin-failed', { error: errorName(outcome) });
  else step('fin');
}

/**
 * Settles as `work` does, or with `'timeout'` once `timeoutMs` has passed first; rejects with an
 * AbortError at once when the server closes (as pause() does: the server destroys the socket).
 * The timer goes when the wait ends, and is unref'd: it never holds the process by itself.
 */
async function bounded<T>({ settings, signal }: BehaviorContext, work: Promise<T>): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => {};
  const limit = new Promise<'timeout'>((resolve, reject) => {
    onAbort = () => reject(abortError());
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(resolve, settings.timeoutMs, 'timeout').unref();
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** How a step names an error: its code, else its message. */
function errorName(error: Error & { code?: string }): string {
  return error.code ?? error.message;
}

/**
 * Queues the payload, then closes the way a correct server does: sockclose's lingeringClose()
 * (flush, FIN, drain until the peer's FIN or a timeout, close). The server closing cuts the
 * linger short (reason 'aborted'): its close() does not wait out a peer's timeouts.
 */
async function linger({ socket, settings, signal, step }: BehaviorContext, payload: Buffer): Promise<void> {
  if (socket.destroyed) return;
  if (payload.length > 0) {
    socket.write(payload);
    // Queued, not written: lingeringClose() flushes it ('wrote' is for a write that was awaited).
    step('queued', { bytes: payload.length });
  }
  const report = await lingeringClose(socket, { idleTimeout: settings.lingerIdleMs, maxTimeout: settings.lingerMaxMs, signal });
  step('lingered', { reason: report.reason, closedWith: report.closedWith, drainedBytes: report.drainedBytes, durationMs: report.durationMs });
}

/**
 * shutdown(SHUT_WR) on the socket's descriptor now (Node's end() would do it on a later turn of
 * the loop; this settles within the current one, microtasks only). Meant for when Node holds no
 * unwritten data; if it still does (a peer that does not read: the waits timed out), what it holds
 * is cut off, which does not matter: the socket is reset next.
 */
async function shutdownNow(socket: net.Socket, step: BehaviorContext['step']): Promise<void> {
  try {
    // The descriptor is read from the live handle and used at once, never kept.
    await shutdownWrite(socketFd(socket));
    step('fin');
  } catch (error) {
    step('fin-failed', { error: errorName(error as Error) });
  }
}

/**
 * The behaviour's RST. A peer that has already gone (its reset, or after our FIN its FIN) gets
 * none, whatever we ask: the fault server's report then says `'peer-left'` in place of this step,
 * from the observation's look inside the close itself (reconciled() in fault-server.ts), the look
 * closest to what reached the wire.
 */
function reset(socket: net.Socket, step: BehaviorContext['step']): void {
  if (socket.destroyed) return;
  step('reset');
  hardReset(socket);
}

/** Resolves true on the peer's EOF, false if the socket closed (or errored) first. */
function peerEnd(socket: net.Socket, step: BehaviorContext['step']): Promise<boolean> {
  if (socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onEnd = () => {
      socket.off('close', onClose);
      step('peer-eof', { bytesRead: socket.bytesRead });
      resolve(true);
    };
    const onClose = () => {
      socket.off('end', onEnd);
      resolve(false);
    };
    socket.once('end', onEnd).once('close', onClose);
  });
}

/**
 * Both sides have sent FIN and nothing is unread: the close sends nothing more. (Usually Node has
 * already closed it: a half-open socket is destroyed once both directions are done.)
 */
function closeCleanly(socket: net.Socket): void {
  if (!socket.destroyed) socket.destroy();
}
