// Which servers have lingering close enabled, found from a closing socket through `socket.server`
// (Node sets it on every accepted socket; for TLS servers the TLSSocket is the one that closes, not
// the raw socket under it). Nothing is kept per connection: a socket's close looks its server up.
import type net from 'node:net';

import { tlsHandshakeDone, type SocketInternals } from '../node-handle.js';
import type { LingerSettings } from './options.js';
import type { LingerPool } from './pool.js';
import type { LingerReport } from './types.js';

type ReportListener = (report: LingerReport, socket: SocketInternals) => void;

/** Who a socket's lingering close answers to: its server's switch, pool and listener. */
export interface Owner {
  /** False once the server's lingering close was undone: its sockets then close as Node does. */
  active: boolean;
  pool: LingerPool;
  onReport: ReportListener | null;
}

/** A server under lingering close. */
export interface ServerEntry {
  readonly owner: Owner;
  readonly settings: LingerSettings;
  /** A TLS server: its TLSSockets linger once their handshake is done; the raw sockets never. */
  readonly tls: boolean;
}

const servers = new WeakMap<net.Server, ServerEntry>();

/** Puts `server`'s connections under lingering close. */
export function addServer(server: net.Server, entry: ServerEntry): void {
  servers.set(server, entry);
}

/** Takes `server`'s connections from under lingering close (those whose close began finish it). */
export function removeServer(server: net.Server): void {
  servers.delete(server);
}

/** The lingering server `socket` belongs to, if any. */
export function serverEntryOf(socket: SocketInternals): ServerEntry | undefined {
  const server = (socket as SocketInternals & { server?: net.Server | null }).server;
  if (!server) return undefined;
  const entry = servers.get(server);
  if (entry === undefined || (entry.tls && !tlsHandshakeDone(socket))) return undefined;
  return entry;
}
