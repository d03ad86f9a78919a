// createFaultProxy(): a TCP proxy with Toxiproxy-style toxics per direction, changeable while it
// runs (existing connections included), that passes FINs and resets on faithfully.
import type net from 'node:net';

import { invalidArgType, invalidArgValue, isOptionsObject } from '../errors.js';
import type { EmitterOwnEvents, TypedEmitter } from './events.js';
import {
  integerOption,
  MAX_MS,
  optionKeys,
  optionsObject,
  parseAddress,
  refuseFixed,
  refuseUnknown,
  type AddressInput,
  type ConnectAddressInput,
  type Endpoint,
} from './options.js';
import { Link, type ProxyLinkReport, type ToxicEvent } from './proxy-link.js';
import { ReportingServer } from './reporting-server.js';
import { resolveToxic, SPEC_KEYS, type Toxic, type ToxicAttributes, type ToxicSpec, type ToxicType } from './toxics.js';

/** Options for {@link createFaultProxy}. */
export interface FaultProxyOptions {
  /** Where to listen: `'host:port'`, a port, or `{ host, port }`. Default `127.0.0.1:0` (any free port). */
  listen?: AddressInput | undefined;
  /** Where to connect each client: `'host:port'`, a port (on 127.0.0.1), or `{ host, port }`. */
  upstream: ConnectAddressInput;
  /** Toxics in force from the start. */
  toxics?: readonly ToxicSpec[] | undefined;
  /**
   * Bound on connecting to the upstream, for each client, in ms. Default 5000. An upstream that
   * does not answer (its SYNs dropped: the kernel alone would retry for about two minutes) is then
   * treated as an unreachable one: the client is reset, and the report says
   * `endedBy: 'upstream-connect'`, `upstreamError: 'ETIMEDOUT'`. A client that resets meanwhile
   * ends the connection at once (`endedBy: 'client'`, the connect abandoned); its FIN does not.
   */
  connectTimeoutMs?: number | undefined;
}

/** The events of a {@link FaultProxy}: each one's listener arguments. */
export interface FaultProxyEvents extends EmitterOwnEvents {
  /**
   * A client connected (before the upstream connection is made): the connection's id (1 for the
   * first, as in its `'toxic'` events and report) and the client's socket, paused.
   */
  connection: [id: number, socket: net.Socket];
  /** A toxic acted on a connection, as it happened: what it did, and the connection's id. */
  toxic: [event: ToxicEvent, id: number];
  /** A connection has closed on both sides: what happened on it (also kept in `reports`). */
  report: [report: ProxyLinkReport];
}

/**
 * A running fault proxy. Emits `'connection'` (id, client socket), `'toxic'` ({@link ToxicEvent},
 * connection id) each time a toxic acts, as it happens, and `'report'` ({@link ProxyLinkReport})
 * once a connection has closed on both sides: see {@link FaultProxyEvents}. It emits no `'error'`.
 */
export interface FaultProxy extends TypedEmitter<FaultProxyEvents> {
  /** The address it listens on (the real port when 0 was asked). */
  readonly address: Endpoint;
  /** `address.host`: the address it listens on, as the OS reports it (`'127.0.0.1'`, `'::'`, …). */
  readonly host: string;
  /** `address.port`: the port it listens on. */
  readonly port: number;
  /** Where each client's connection is passed on to, as parsed from `options.upstream`. */
  readonly upstream: Endpoint;
  /** The toxics in force, in the order they act. */
  readonly toxics: readonly Toxic[];
  /** Connections open now. */
  readonly activeConnections: number;
  /** Reports of every closed connection so far, oldest first (the last 1000). */
  readonly reports: readonly ProxyLinkReport[];
  /**
   * Adds a toxic; it acts on open connections at once. Throws `ERR_INVALID_ARG_VALUE` if its name
   * is taken or empty, or for a key of the spec or of its attributes that it does not have (naming
   * the one it may have meant: `strem`, "did you mean 'stream'?"); `ERR_INVALID_ARG_TYPE` if the
   * name is not a string.
   */
  addToxic(spec: ToxicSpec): Toxic;
  /**
   * Changes a toxic's attributes (only those given; one given as undefined keeps its value) and
   * toxicity; its clocks restart on open connections. Its type, name and stream cannot change
   * (`ERR_INVALID_ARG_VALUE`): remove it and add another. A key of `changes` or of `attributes`
   * that a toxic does not have is `ERR_INVALID_ARG_VALUE` too; `attributes` that is not an object
   * is `ERR_INVALID_ARG_TYPE`.
   */
  updateToxic(
    name: string,
    changes: {
      attributes?: { [T in ToxicType]: { [K in keyof ToxicAttributes[T]]?: ToxicAttributes[T][K] | undefined } }[ToxicType] | undefined;
      toxicity?: number | undefined;
    },
  ): Toxic;
  /** Removes a toxic; returns whether it existed. */
  removeToxic(name: string): boolean;
  /** Removes every toxic. */
  removeAllToxics(): void;
  /**
   * The RST command: resets both sides (client and upstream) of every open connection, now.
   * Returns how many connections it reset.
   */
  resetConnections(): number;
  /** False while the proxy is down (see {@link FaultProxy.disable}). */
  readonly enabled: boolean;
  /**
   * Takes the proxy down, as Toxiproxy's `enabled: false`: it stops listening (new clients get
   * ECONNREFUSED) and destroys every open connection on both sides at once (a FIN, or an RST
   * where data is unread; their reports say `endedBy: 'proxy-down'`). Resolves once they have
   * closed. The toxics stay. Nothing happens if it is already down.
   */
  disable(): Promise<void>;
  /**
   * Brings the proxy up again, listening on the same address and port. Rejects (EADDRINUSE) if
   * something else took the port meanwhile, and (ERR_SERVER_NOT_RUNNING) after `close()`.
   * Nothing happens if it is already up.
   */
  enable(): Promise<void>;
  /** Stops listening, destroys every open connection, resolves once all have closed. */
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy from `listen` to `upstream` whose connections suffer the given toxics:
 * `latency`, `reset_peer`, `timeout`, `slow_close`, `limit_data`, `bandwidth`, `slicer` (see
 * {@link TOXIC_TYPES}), each on one stream (`'upstream'` client → server, `'downstream'` server →
 * client). Toxics can be added, changed and removed while it runs, and the whole proxy taken
 * down and brought up again ({@link FaultProxy.disable}, {@link FaultProxy.enable}). Ends pass through faithfully: a FIN as a FIN, a reset
 * as a reset (even one that Node reported as a clean EOF), after the data that preceded it.
 *
 * @param options - {@link FaultProxyOptions}.
 * @returns A promise of the listening {@link FaultProxy}.
 * @throws As a rejection: `ERR_INVALID_ARG_TYPE` for an option of the wrong type (an address host
 *   or a toxic name that is not a string), `ERR_INVALID_ARG_VALUE` for a bad value (an empty
 *   address host or toxic name, a duplicate toxic name) or an unknown key (of the options, an
 *   address object, a toxic or its attributes; `connectTimeout`: "did you mean
 *   'connectTimeoutMs'?"), `ERR_OUT_OF_RANGE` for a number out of range.
 * @example
 * ```ts
 * const proxy = await createFaultProxy({
 *   upstream: `127.0.0.1:${db.port}`,
 *   toxics: [{ type: 'limit_data', stream: 'downstream', attributes: { bytes: 1000, mode: 'reset' } }],
 * });
 * // clients of proxy.port receive exactly 1000 bytes of the server's reply, then ECONNRESET
 * proxy.removeToxic('limit_data_downstream'); // new and open connections heal
 * ```
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const given = optionsObject(options, 'options', createFaultProxy);
  refuseUnknown(given, PROXY_KEYS, 'options', 'an option of createFaultProxy()', createFaultProxy);
  if (given.upstream === undefined) throw invalidArgValue('options.upstream', undefined, 'is required', createFaultProxy);
  const upstream = parseAddress(given.upstream, 'options.upstream', '127.0.0.1', false, createFaultProxy);
  const listen = parseAddress(given.listen ?? 0, 'options.listen', '127.0.0.1', true, createFaultProxy);
  if (given.toxics !== undefined && !Array.isArray(given.toxics)) throw invalidArgType('options.toxics', 'an array', given.toxics, createFaultProxy);
  const connectTimeoutMs = integerOption(given.connectTimeoutMs, 'options.connectTimeoutMs', 1, MAX_MS, 5000, createFaultProxy);
  const toxics: Toxic[] = [];
  for (const spec of given.toxics ?? []) addUnique(toxics, resolveToxic(spec, createFaultProxy), createFaultProxy);
  const proxy = new ToxicProxy(upstream, toxics, connectTimeoutMs);
  await proxy.listen(listen);
  return proxy;
}

const PROXY_KEYS = optionKeys<FaultProxyOptions>({ listen: true, upstream: true, toxics: true, connectTimeoutMs: true });

class ToxicProxy extends ReportingServer<Link, ProxyLinkReport> implements FaultProxy {
  private nextId = 1;
  private list: Toxic[];
  private down = false;
  private closed = false;
  // enable() and disable() run one after the other, in the order they were called.
  private toggling: Promise<void> = Promise.resolve();

  constructor(
    readonly upstream: Endpoint,
    toxics: Toxic[],
    private readonly connectTimeoutMs: number,
  ) {
    super();
    this.list = toxics;
  }

  get toxics(): readonly Toxic[] {
    return this.list.map(copyToxic);
  }

  addToxic(spec: ToxicSpec): Toxic {
    const toxic = resolveToxic(spec, this.addToxic);
    addUnique(this.list, toxic, this.addToxic);
    for (const link of this.connections) link.apply(toxic);
    return copyToxic(toxic);
  }

  updateToxic(name: string, changes: Parameters<FaultProxy['updateToxic']>[1]): Toxic {
    const index = this.indexOf(name, this.updateToxic);
    const given = optionsObject(changes, 'changes', this.updateToxic);
    // Type, name and stream are known (not typos), and refused below as fixed.
    refuseUnknown(given, SPEC_KEYS, 'changes', 'a field of a toxic', this.updateToxic);
    // A toxic's identity stays: remove it and add another to change those.
    refuseFixed(given, ['type', 'name', 'stream'], 'changes', this.updateToxic);
    const old = this.list[index]!;
    // Only an absent toxicity keeps the old one: null is checked (and refused) like any value.
    const toxicity = given.toxicity === undefined ? old.toxicity : given.toxicity;
    // Spread as they were, a number or null would change nothing and a string would add its
    // characters as attributes: refused instead. An attribute given as undefined is not given: it
    // keeps its value (it would fall back to its default).
    const changed: unknown = given.attributes;
    if (changed !== undefined && !isOptionsObject(changed)) {
      throw invalidArgType('changes.attributes', 'of type object', changed, this.updateToxic);
    }
    const attributes: Record<string, unknown> = { ...old.attributes };
    // Defined, not assigned: an own '__proto__' attribute (from JSON, or the CLI's `update`) must
    // stay a name resolveToxic() refuses, not replace the object's prototype.
    for (const [key, value] of Object.entries(changed ?? {})) {
      if (value !== undefined) Object.defineProperty(attributes, key, { value, enumerable: true, writable: true, configurable: true });
    }
    const toxic = resolveToxic({ type: old.type, name: old.name, stream: old.stream, toxicity, attributes }, this.updateToxic);
    this.list[index] = toxic;
    for (const link of this.connections) {
      link.unapply(name);
      link.apply(toxic);
      link.toxicsChanged();
    }
    return copyToxic(toxic);
  }

  removeToxic(name: string): boolean {
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name, this.removeToxic);
    const index = this.list.findIndex((toxic) => toxic.name === name);
    if (index < 0) return false;
    this.list.splice(index, 1);
    for (const link of this.connections) {
      link.unapply(name);
      link.toxicsChanged();
    }
    return true;
  }

  removeAllToxics(): void {
    for (const toxic of [...this.list]) this.removeToxic(toxic.name);
  }

  resetConnections(): number {
    let count = 0;
    for (const link of this.connections) if (link.reset()) count += 1;
    return count;
  }

  get enabled(): boolean {
    return !this.down;
  }

  disable(): Promise<void> {
    return this.toggle(async () => {
      if (this.down) return;
      this.down = true;
      for (const link of this.connections) link.destroy('proxy-down');
      await super.close();
    });
  }

  enable(): Promise<void> {
    return this.toggle(async () => {
      if (this.closed) throw Object.assign(new Error('enable(): the proxy was closed; create a new one'), { code: 'ERR_SERVER_NOT_RUNNING' });
      if (!this.down) return;
      await this.listen(this.address);
      this.down = false;
    });
  }

  override close(): Promise<void> {
    this.closed = true;
    return super.close();
  }

  private toggle(change: () => Promise<void>): Promise<void> {
    const next = this.toggling.then(change);
    this.toggling = next.catch(() => undefined);
    return next;
  }

  protected override accept(socket: net.Socket): void {
    const id = this.nextId++;
    const link = new Link(
      id,
      {
        upstream: this.upstream,
        connectTimeoutMs: this.connectTimeoutMs,
        toxics: () => this.list,
        toxicActed: (event, linkId) => this.emit('toxic', event, linkId),
      },
      socket,
    );
    this.connections.add(link);
    this.emit('connection', id, socket);
    this.track(link, link.done, (report) => report);
  }

  private indexOf(name: string, caller: (...args: never[]) => unknown): number {
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name, caller);
    const index = this.list.findIndex((toxic) => toxic.name === name);
    if (index < 0) throw invalidArgValue('name', name, `is not a toxic of this proxy (it has: ${this.list.map((t) => t.name).join(', ') || 'none'})`, caller);
    return index;
  }
}

function addUnique(list: Toxic[], toxic: Toxic, caller: (...args: never[]) => unknown): void {
  if (list.some((existing) => existing.name === toxic.name)) {
    throw invalidArgValue('toxic.name', toxic.name, 'is already used by another toxic of this proxy (give it a name)', caller);
  }
  list.push(toxic);
}

/** A copy to hand out: changing it (its attributes included) must not change the toxic in force. */
function copyToxic(toxic: Toxic): Toxic {
  return { ...toxic, attributes: { ...toxic.attributes } } as Toxic;
}
