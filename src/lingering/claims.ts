// One lingering close per socket, however many copies of sockclose an application loads (two
// installs, one a dependency's). Each copy has its own hooks on net.Socket.prototype, its own
// pools and its own native lingerer, and each would otherwise take the same socket's close: two
// dup()s, two lingerers reading the same connection (each with its own drain limit), two reports,
// counted in both copies' stats. So the copies share, per thread, a registry under a global
// registered symbol (as socket-fd.ts shares its handed-out numbers):
//
// - servers: the copy that enabled lingering close on each server. Another copy refuses to enable
//   it there too, as one copy refuses a second enable.
// - sockets: the copy whose lingering close of each socket has begun. The other copies' hooks stand
//   aside, and their lingeringClose() hands the call to that copy, which answers it as it answers
//   a second call of its own (the close under way, its promise). A call on a socket of another
//   copy's server goes to that copy too: the close counts in that server's pool, as it would with
//   one copy.
//
// The registry's shape is a protocol between versions: it never changes under this symbol (a new
// shape takes a new one). Copies older than this one know nothing of it.
import type net from 'node:net';

import { acceptingServer, servingServer } from '../node-handle.js';
import type { LingerReport, LingeringCloseCallOptions } from './types.js';

/** What a copy records as the manager of a socket's close or of a server (v1). */
export interface LingerClaim {
  /** That copy's `lingeringClose()`: another copy's call on the socket is answered here. */
  readonly lingeringClose: (socket: net.Socket, options?: LingeringCloseCallOptions) => Promise<LingerReport>;
}

/** The registry shared by every copy in one thread (v1). */
interface Registry {
  /** Copies that have installed their lingering hooks in this thread (each counts itself once). */
  copies: number;
  /** Sockets whose lingering close a copy has begun: that copy's claim. */
  readonly sockets: WeakMap<object, LingerClaim>;
  /** Servers under lingering close: the claim of the copy that enabled it. */
  readonly servers: WeakMap<object, LingerClaim>;
}

const kRegistry = Symbol.for('sockclose.lingeringClose.v1');
const registry: Registry = sharedRegistry();

// This copy's lingeringClose(), registered by lingering-close.ts (which imports managed.ts, which
// claims: a direct import back would be a cycle).
let answer: LingerClaim['lingeringClose'] | null = null;
/** This copy's claim (one object: a claim costs no allocation). */
export const ownClaim: LingerClaim = Object.freeze({
  lingeringClose: (socket: net.Socket, options?: LingeringCloseCallOptions) => answer!(socket, options),
});

/** Registers this copy's `lingeringClose()` as the answer to other copies' calls. */
export function answerWith(lingeringClose: LingerClaim['lingeringClose']): void {
  answer = lingeringClose;
}

function sharedRegistry(): Registry {
  const holder = globalThis as { [kRegistry]?: Registry };
  const existing = holder[kRegistry];
  if (existing && existing.sockets instanceof WeakMap && existing.servers instanceof WeakMap) return existing;
  const created: Registry = { copies: 0, sockets: new WeakMap(), servers: new WeakMap() };
  // Not enumerable: nothing that lists globals sees it.
  Object.defineProperty(holder, kRegistry, { value: created, configurable: true });
  return created;
}

/** Counts this copy among those whose hooks are installed (once per copy and thread). */
export function countCopy(): void {
  registry.copies += 1;
}

/**
 * Whether a server close of `socket` may begin in this copy: no other copy's close of it has. Also
 * claims it. Only looked at once two copies have hooks (one load on a lone copy's closes).
 */
export function claimForServerClose(socket: object): boolean {
  if (registry.copies < 2) return true;
  return claim(socket);
}

/** Claims `socket`'s close for this copy; false if another copy's close of it has begun. */
export function claim(socket: object): boolean {
  const held = registry.sockets.get(socket);
  if (held === undefined) registry.sockets.set(socket, ownClaim);
  return held === undefined || held === ownClaim;
}

/**
 * The other copy that manages `socket`'s close, if any: the one whose close of it has begun, else
 * the one that enabled lingering close on the server serving it or that accepted it.
 */
export function otherManager(socket: net.Socket): LingerClaim | undefined {
  const manager = registry.sockets.get(socket) ?? serverClaim(servingServer(socket)) ?? serverClaim(acceptingServer(socket));
  return manager === ownClaim ? undefined : manager;
}

function serverClaim(server: net.Server | null): LingerClaim | undefined {
  return server === null ? undefined : registry.servers.get(server);
}

/** The copy managing `server`'s lingering close: `'this'`, `'other'` or `null` (none). */
export function serverManager(server: net.Server): 'this' | 'other' | null {
  const held = registry.servers.get(server);
  return held === undefined ? null : held === ownClaim ? 'this' : 'other';
}

/** Records that this copy manages `server` (`false`: no longer). */
export function claimServer(server: net.Server, managed: boolean): void {
  if (managed) registry.servers.set(server, ownClaim);
  else if (registry.servers.get(server) === ownClaim) registry.servers.delete(server);
}
