// createFaultServer(): a TCP server that ends every connection in one chosen, exact way, and
// reports for each connection what it did and how the connection really ended on its side.
import { setMaxListeners } from 'node:events';
import type net from 'node:net';

import { invalidArgType, invalidArgValue, type Caller } from '../errors.js';
import { BEHAVIOR_NAMES, FAULT_BEHAVIORS, runBehavior, type BehaviorSettings, type FaultBehavior } from './behaviors.js';
import type { EmitterOwnEvents, TypedEmitter } from './events.js';
import { observeClose, type CloseObservation } from './observe-close.js';
import {
  booleanOption,
  choiceOption,
  connectAddress,
  formatAddress,
  integerOption,
  MAX_BYTES,
  MAX_MS,
  MAX_PAYLOAD,
  optionKeys,
  optionsObject,
  parseAddress,
  refuseFixed,
  refuseUnknown,
  type AddressInput,
  type Endpoint,
} from './options.js';
import type { FaultProtocol } from './payload.js';
import { ReportingServer } from './reporting-server.js';

/** Options for {@link createFaultServer}. Every field but `behavior` has a default. */
export interface FaultServerOptions {
  /** How each connection ends; see {@link FAULT_BEHAVIORS}. */
  behavior: FaultBehavior;
  /** Where to listen: `'host:port'`, a port, or `{ host, port }`. Default `127.0.0.1:0` (any free port). */
  listen?: AddressInput | undefined;
  /**
   * `'raw'` (default): act on accept, read nothing first. `'http'`: read the request head first
   * and answer with an HTTP/1.1 response (`Content-Length`, `Connection: close`), so Node's http
   * client and fetch parse what arrives; a request body stays unread.
   */
  protocol?: FaultProtocol | undefined;
  /**
   * Bytes of response body. Default 600,000 for close-with-unread and lingering-close (the seed 004
   * server), 1 MiB for reset-after-bytes, else 0. At most what one Buffer holds, less 4 KiB (on
   * Node 20: 4 GiB); larger is `ERR_OUT_OF_RANGE` here rather than a failure at each connection.
   */
  responseBytes?: number | undefined;
  /** reset-after-bytes: wire bytes written (HTTP head included) before the RST. Default 16,384. */
  bytes?: number | undefined;
  /**
   * The pause before the last step: slow-close's delay after the peer's EOF (default 1000 ms); 0
   * elsewhere. A peer that leaves during it (its reset; its FIN only in fin-then-reset, where it
   * follows ours: elsewhere a half-closed peer may still read, and still gets the fault) ends it at
   * once: the last step is skipped, the server closes its socket and reports at once, with a
   * `'peer-left'` step. In fin-then-reset, a peer whose FIN beat the RST (with or without a delay:
   * a client that closes at EOF answers within microseconds) gets no RST, since no connection is
   * left to reset: `'peer-left'` takes the place of the `'reset'` step.
   */
  delayMs?: number | undefined;
  /**
   * Bound on each wait, default 5000 ms. For the peer: the request head or byte, the
   * acknowledgement (reset-after-bytes), unread input (close-with-unread), every byte or our FIN
   * having left (fin-then-reset). For our own writing, which a peer that does not read holds
   * when the response is larger than the socket buffers: Node handing the response to the kernel
   * (`'wrote'`), and Node's end() behind bytes still queued (`'fin'`). A wait that runs out says
   * `result: 'timeout'` in its step (the two on writing add `queuedBytes`: what Node had not yet
   * handed to the kernel) and the behaviour goes on to its fault. Not bounded: the waits for the
   * peer's FIN in half-close, slow-close and echo, which are what those behaviours do.
   *
   * A peer that leaves meanwhile (its reset) ends a wait for a request byte or an acknowledgement
   * at once, as it ends `delayMs` (a `'peer-left'` step; the behaviour stops). Its FIN ends the
   * wait for a request byte (none can follow; result `'peer-finished'`), and the behaviour goes on.
   * A socket closed during a wait (a reset Node saw first, as while reading an http request head
   * or writing the response; or `close()`) gives that wait `result: 'closed'`, and the behaviour
   * stops there; after the peer's reset (not after `close()`) a `'peer-left'` step follows it.
   */
  timeoutMs?: number | undefined;
  /**
   * Start only once the client has sent at least one byte (which stays unread); in http mode the
   * response behaviours wait for the request head anyway, and this makes reset-on-accept wait too.
   * Default false: act on accept, as the seed 004 server. Set it when exact client outcomes
   * matter: a reset that arrives before the client's connect() has returned (or, in Node, before
   * libuv completed the connect) fails the *connect* with ECONNRESET, with nothing read.
   */
  awaitRequest?: boolean | undefined;
  /** lingering-close and close: idle timeout between reads, at least 1 ms (default 2000 ms, as Apache). */
  lingerIdleMs?: number | undefined;
  /** lingering-close and close: total cap, at least 1 ms (default 30,000 ms, as Apache and nginx). */
  lingerMaxMs?: number | undefined;
}

/** One step a behaviour took, in milliseconds since the connection was accepted. */
export interface FaultStep {
  /**
   * What was done or seen: `'request-head'`, `'wrote'`, `'acknowledged'`, `'fin'`, `'reset'`, `'peer-eof'`, `'error'`, …
   * A wait's step says how it ended in `detail.result` (`'met'`, `'timeout'`, …). `'wrote'` is
   * `{ bytes }` once Node has handed the response to the kernel, or `{ bytes, result: 'timeout',
   * queuedBytes }` when `timeoutMs` ran out first (a peer that does not read); `'queued'` (lingering-close)
   * is `{ bytes }` handed to Node, which the lingering close then flushes; `'fin'` likewise has
   * no detail, or `{ result: 'timeout', queuedBytes }` when Node's end() still waited behind
   * queued bytes (its FIN goes out only if they drain); `'fin-failed'` is `{ error }`.
   * `'peer-left'`: the peer closed or reset the connection while the behaviour waited out `delayMs`
   * (or waited for it: a request byte, an acknowledgement), so the wait ended there and the
   * behaviour's remaining steps were skipped, or its reset closed the socket under a wait (that
   * wait's `result: 'closed'`); also a closing reset that found the peer gone (its
   * reset, or in fin-then-reset its FIN: after both FINs there is no connection left to reset, and
   * no RST is sent). Its detail is `{ end, state, error }`: `'fin'`, `'rst'` or `'fin-rst'` (as
   * {@link CloseObservation}'s `peer`), the server socket's TCP state, and the reset the kernel
   * held pending (`'ECONNRESET'`, `'EPIPE'`) or null.
   */
  step: string;
  /** Milliseconds since the connection was accepted. */
  atMs: number;
  /** The step's particulars (bytes written, a wait's result, an error code, …); absent when there are none. */
  detail?: Record<string, unknown>;
}

/** What happened on one connection, emitted as `'report'` once the server's socket has closed. */
export interface FaultConnectionReport {
  /** 1 for the first connection the server accepted, and so on. */
  id: number;
  /** The behaviour the connection got (the one in force when it was accepted). */
  behavior: FaultBehavior;
  /** The client's address. */
  remote: Endpoint;
  /** The behaviour's steps, in order ('wrote', 'acknowledged', 'fin', 'reset', …). */
  steps: FaultStep[];
  /** How the connection ended, seen from the server's socket. */
  observation: CloseObservation;
}

/** The events of a {@link FaultServer}: each one's listener arguments. */
export interface FaultServerEvents extends EmitterOwnEvents {
  /**
   * A connection was accepted (before its behaviour starts): its id (1 for the first, as in its
   * report) and the server's socket of it, paused.
   */
  connection: [id: number, socket: net.Socket];
  /** A connection has closed: what happened on it (also kept in `reports`). */
  report: [report: FaultConnectionReport];
}

/**
 * A running fault server. Emits `'connection'` (id, socket) and `'report'` ({@link FaultConnectionReport}):
 * see {@link FaultServerEvents}. It emits no `'error'`.
 */
export interface FaultServer extends TypedEmitter<FaultServerEvents> {
  /** The address it listens on (the real port when 0 was asked). */
  readonly address: Endpoint;
  /** `address.host`: the address it listens on, as the OS reports it (`'127.0.0.1'`, `'::'`, …). */
  readonly host: string;
  /** `address.port`: the port it listens on. */
  readonly port: number;
  /** `http://host:port/`, for HTTP clients; a wildcard host as its loopback (`0.0.0.0` as `127.0.0.1`, `::` as `[::1]`). */
  readonly url: string;
  /** The settings new connections get. */
  readonly settings: Readonly<BehaviorSettings>;
  /** Connections accepted and not yet closed. */
  readonly activeConnections: number;
  /** Reports of every closed connection so far, oldest first (the last 1000). */
  readonly reports: readonly FaultConnectionReport[];
  /**
   * Changes the behaviour (and any other option but the address: `listen` is refused with
   * `ERR_INVALID_ARG_VALUE`, as is a key that is no option, naming the one it may have meant)
   * for connections accepted from now on. Options not given (or given as undefined, `behavior`
   * too) keep their values, except that a change of behaviour resets `responseBytes`, `bytes` and
   * `delayMs` to the new behaviour's defaults: each behaviour reads them its own way.
   */
  configure(options: { [K in keyof Omit<FaultServerOptions, 'listen'>]?: FaultServerOptions[K] | undefined }): void;
  /**
   * Stops listening, destroys every remaining connection, and resolves once all have closed. A
   * connection in its lingering close (`close`, `lingering-close`) is cut short: its `'lingered'`
   * step says `reason: 'aborted'`, closed as a timeout closes (RST).
   */
  close(): Promise<void>;
}

/**
 * Starts a TCP server that ends every connection in one exact way: reset on accept, reset after N
 * bytes (acknowledged), respond then close with unread input (the kernel sends RST), FIN then
 * reset (the peer sees EPIPE), half-close and stay open, slow close, stall, a clean close, a
 * lingering close (the correct behaviour, as a control), or echo. Each connection's
 * {@link FaultConnectionReport} says what the server did and how the connection really ended.
 *
 * @param options - {@link FaultServerOptions}.
 * @returns A promise of the listening {@link FaultServer}.
 * @throws As a rejection: `ERR_INVALID_ARG_TYPE` for an option of the wrong type (a `listen` host
 *   that is not a string), `ERR_INVALID_ARG_VALUE` for a bad value (an unknown behaviour, an empty
 *   `listen` host) or a key that is no option (`delay`: "did you mean 'delayMs'?"; in a `listen`
 *   object too), `ERR_OUT_OF_RANGE` for a number out of range.
 * @example
 * ```ts
 * const server = await createFaultServer({ behavior: 'reset-after-bytes', bytes: 1000 });
 * // a client of server.port receives exactly 1000 bytes, then ECONNRESET
 * server.on('report', (r) => console.log(r.id, r.observation.local)); // 'rst'
 * await server.close();
 * ```
 */
export async function createFaultServer(options: FaultServerOptions): Promise<FaultServer> {
  const given = optionsObject(options, 'options', createFaultServer);
  refuseUnknown(given, SERVER_KEYS, 'options', 'an option of createFaultServer()', createFaultServer);
  const settings = resolveSettings(given, undefined);
  const listen = parseAddress(given.listen ?? 0, 'options.listen', '127.0.0.1', true, createFaultServer);
  const server = new Server(settings);
  await server.listen(listen);
  return server;
}

const SERVER_KEYS = optionKeys<FaultServerOptions>({
  behavior: true,
  listen: true,
  protocol: true,
  responseBytes: true,
  bytes: true,
  delayMs: true,
  timeoutMs: true,
  awaitRequest: true,
  lingerIdleMs: true,
  lingerMaxMs: true,
});

class Server extends ReportingServer<net.Socket, FaultConnectionReport> implements FaultServer {
  private current: BehaviorSettings;
  private readonly closing = new AbortController();
  private nextId = 1;

  constructor(settings: BehaviorSettings) {
    super();
    this.current = settings;
    // Every connection's waits listen to it (each removes its listener when it ends): more than
    // ten at once is no leak, and must not print MaxListenersExceededWarning.
    setMaxListeners(0, this.closing.signal);
  }

  get url(): string {
    const { host, port } = this.address;
    return `http://${formatAddress({ host: connectAddress(host), port })}/`;
  }
  get settings(): Readonly<BehaviorSettings> {
    return { ...this.current };
  }

  configure(options: { [K in keyof Omit<FaultServerOptions, 'listen'>]?: FaultServerOptions[K] | undefined }): void {
    const given = optionsObject(options, 'options', this.configure);
    // `listen` is known here, only fixed: refused below as what cannot change, not as a typo.
    refuseUnknown(given, SERVER_KEYS, 'options', 'an option of configure()', this.configure);
    // The address is the listening socket's: it cannot move while the server runs.
    refuseFixed(given, ['listen'], 'options', this.configure);
    // An option given as undefined is not given (as everywhere else): the behaviour too stays.
    this.current = resolveSettings({ ...given, behavior: given.behavior === undefined ? this.current.behavior : given.behavior }, this.current);
  }

  override async close(): Promise<void> {
    this.closing.abort();
    await super.close();
  }

  protected override accept(socket: net.Socket): void {
    const id = this.nextId++;
    const settings = this.current;
    const origin = performance.now();
    const steps: FaultStep[] = [];
    const step = (name: string, detail?: Record<string, unknown>) =>
      steps.push({ step: name, atMs: Math.round((performance.now() - origin) * 1000) / 1000, ...(detail ? { detail } : {}) });
    const remote = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const observed = observeClose(socket, { side: 'server' });
    this.connections.add(socket);
    this.emit('connection', id, socket);

    const run = runBehavior({ socket, settings, signal: this.closing.signal, step }).catch((error: Error & { code?: string }) => {
      // The server closing aborts waits; anything else is the behaviour failing: close, and say so.
      if (error.name !== 'AbortError') step('error', { error: error.code ?? error.message });
      if (!socket.destroyed) socket.destroy();
    });
    this.track(socket, Promise.all([observed, run]), ([observation]) => ({
      id,
      behavior: settings.behavior,
      remote,
      steps: reconciled(steps, observation),
      observation,
    }));
  }
}

/**
 * The steps as the wire saw them. A behaviour resets on its last look (a pause polls;
 * fin-then-reset's FIN and RST come back to back), and the peer can leave after it: a reset of
 * its own, or, after our FIN, its FIN. The observation looks inside the close itself: when that
 * look found the peer gone and no RST of ours (`local` `'fin'` or `'none'`, `peer` not `'none'`),
 * the closing `'reset'` step never reached the wire, and becomes the `'peer-left'` it was.
 * Likewise a wait that ended `'closed'` because Node saw the peer's reset first (a write into it
 * failed, a read returned it: Node destroyed the socket under the wait) ends with a `'peer-left'`
 * step when the observation says the peer reset and our close sent nothing: the peer left, as it
 * does when a look sees it first. A server.close() leaves the peer `'none'`, and no such step.
 */
function reconciled(steps: FaultStep[], observation: CloseObservation): FaultStep[] {
  const last = steps[steps.length - 1];
  const { local, peer } = observation;
  const detail = { end: peer, state: observation.state.atClose, error: observation.kernelError };
  if (last?.step === 'reset' && (local === 'fin' || local === 'none') && peer !== 'none') {
    return [...steps.slice(0, -1), { step: 'peer-left', atMs: last.atMs, detail }];
  }
  if (last?.detail?.result === 'closed' && (peer === 'rst' || peer === 'fin-rst') && local === 'none') {
    return [...steps, { step: 'peer-left', atMs: last.atMs, detail }];
  }
  return steps;
}

function resolveSettings(given: Partial<FaultServerOptions>, previous: BehaviorSettings | undefined): BehaviorSettings {
  const caller: Caller = previous ? Server.prototype.configure : createFaultServer;
  const { behavior } = given;
  if (typeof behavior !== 'string') throw invalidArgType('options.behavior', 'of type string', behavior, caller);
  // Own names only: `in` would also accept what every object inherits ('toString', 'constructor',
  // '__proto__'), and the first connection would then crash the process.
  if (!Object.hasOwn(FAULT_BEHAVIORS, behavior)) {
    throw invalidArgValue('options.behavior', behavior, `must be one of: ${BEHAVIOR_NAMES.join(', ')}`, caller);
  }
  const base = previous?.behavior === behavior ? previous : undefined;
  const responseDefault =
    behavior === 'close-with-unread' || behavior === 'lingering-close' ? 600_000 : behavior === 'reset-after-bytes' ? 1 << 20 : 0;
  return {
    behavior,
    protocol: choiceOption(given.protocol, 'options.protocol', ['raw', 'http'], previous?.protocol ?? 'raw', caller),
    responseBytes: integerOption(given.responseBytes, 'options.responseBytes', 0, MAX_PAYLOAD, base?.responseBytes ?? responseDefault, caller),
    bytes: integerOption(given.bytes, 'options.bytes', 0, MAX_BYTES, base?.bytes ?? 16_384, caller),
    delayMs: integerOption(given.delayMs, 'options.delayMs', 0, MAX_MS, base?.delayMs ?? (behavior === 'slow-close' ? 1000 : 0), caller),
    timeoutMs: integerOption(given.timeoutMs, 'options.timeoutMs', 0, MAX_MS, previous?.timeoutMs ?? 5000, caller),
    awaitRequest: booleanOption(given.awaitRequest, 'options.awaitRequest', previous?.awaitRequest ?? false, caller),
    lingerIdleMs: integerOption(given.lingerIdleMs, 'options.lingerIdleMs', 1, MAX_MS, previous?.lingerIdleMs ?? 2000, caller),
    lingerMaxMs: integerOption(given.lingerMaxMs, 'options.lingerMaxMs', 1, MAX_MS, previous?.lingerMaxMs ?? 30_000, caller),
  };
}
