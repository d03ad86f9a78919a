// Which servers have lingering close enabled, found from a closing socket: through `socket.server`
// (Node sets it on every accepted socket, and http to its own on every socket it serves; for TLS
// servers the TLSSocket is the one that closes, not the raw socket under it), else the server that
// accepted it, or a net server it was given to (`server.emit('connection', socket)`, which sets
// nothing: marked on the socket by the server's 'connection' listener). Nothing is kept per
// connection: a socket's close looks its server up.
import net from 'node:net';

import { acceptingServer, givenTo, markGiven, servingServer, tlsHandshakeDone, tlsParentStream, type ServerKind, type SocketInternals } from '../node-handle.js';
import type { LingerSettings } from './options.js';
import type { LingerPool } from './pool.js';
import type { LingerReport } from './types.js';

type ReportListener = (report: LingerReport, socket: SocketInternals) => void;

/** Who a socket's lingering close answers to: its server's switch, pool and listener. */
export interface Owner {
  /** False once the server's lingering close was undone: its sockets then close as Node does. */
  active: boolean;
  /** Its signal aborted: every close of it that began ends at once ('aborted'). */
  aborted: boolean;
  pool: LingerPool;
  onReport: ReportListener | null;
  /** `mode: 'as-needed'`: an http connection whose exchange is done closes without a linger. */
  asNeeded: boolean;
}

/** A server under lingering close. */
export interface ServerEntry {
  readonly owner: Owner;
  readonly settings: LingerSettings;
  /** A TLS server: its TLSSockets linger once their handshake is done; the raw sockets never. */
  readonly tls: boolean;
}

// Each server's entry, on the server itself (this copy's own symbol): a close looks its server up
// once or twice per connection, and a property load costs a fraction of a WeakMap lookup (~100
// instructions under callgrind). Cleared to undefined, not deleted: a delete would turn the
// server's object into a slow dictionary.
const kEntry = Symbol('sockclose.lingeringServer');
type EntryHolder = net.Server & { [kEntry]?: ServerEntry | undefined };
// A locked server, one that takes no new property (Object.preventExtensions(), seal() or freeze()
// once it listens: Node adds properties at listen()), keeps its entry here instead.
const lockedServers = new WeakMap<net.Server, ServerEntry>();
let anyLocked = false;

function entryOf(server: net.Server): ServerEntry | undefined {
  if (anyLocked) {
    const kept = lockedServers.get(server);
    if (kept !== undefined) return kept;
  }
  return (server as EntryHolder)[kEntry];
}

function setEntry(server: net.Server, entry: ServerEntry | undefined): void {
  if (entry === undefined) {
    lockedServers.delete(server);
    // Reflect.set() fails quietly on a server frozen while enabled: its entry stays, with an
    // inactive owner, which is all a close looks at.
    if (Object.prototype.hasOwnProperty.call(server, kEntry)) Reflect.set(server, kEntry, undefined);
    return;
  }
  // Reflect.set() says false where an assignment would throw: a server that takes no property.
  if (!Reflect.set(server, kEntry, entry)) {
    lockedServers.set(server, entry);
    anyLocked = true;
  }
}
// The 'connection' listener of each plain net server under lingering close (see addServer()).
const givenListeners = new WeakMap<net.Server, (socket: net.Socket) => void>();
/**
 * Puts `server`'s connections under lingering close. `kind` 'net': a plain net.Server, which
 * also takes the sockets it is given (http and TLS servers set `socket.server` themselves).
 */
export function addServer(server: net.Server, entry: ServerEntry, kind: ServerKind): void {
  setEntry(server, entry);
  if (kind !== 'net') return;
  // First, before the application's listener hands the socket on or closes it. An accepted
  // socket pays one comparison.
  const onConnection = (socket: net.Socket): void => {
    if (servingServer(socket) !== server && socket instanceof net.Socket) markGiven(socket, server);
  };
  givenListeners.set(server, onConnection);
  server.prependListener('connection', onConnection);
}

/** Takes `server`'s connections from under lingering close (those whose close began finish it). */
export function removeServer(server: net.Server): void {
  if (entryOf(server) !== undefined) setEntry(server, undefined);
  const onConnection = givenListeners.get(server);
  if (onConnection === undefined) return;
  givenListeners.delete(server);
  server.off('connection', onConnection);
}

/** The lingering server `socket` belongs to, if any. */
export function serverEntryOf(socket: SocketInternals): ServerEntry | undefined {
  const server = servingServer(socket);
  const given = givenTo(socket);
  // Given to a net server, which sets nothing: `server` still names the server it came from, and
  // the server holding it is the last one it was given to (unless an http server took it since,
  // setting `server` to itself). That one's entry comes first, as an http server's does.
  let entry = server !== null && (given === undefined || !given.includes(server)) ? entryOf(server) : undefined;
  if (entry === undefined) {
    // Given away: the server serving it is not under lingering close (http overwrote `server`
    // with its own); one it was given to (the latest first) or the one that accepted it may be.
    // A client socket, or an accepted one never given away, pays two property reads.
    for (let i = given === undefined ? -1 : given.length - 1; entry === undefined && i >= 0; i--) entry = entryOf(given![i]!);
    const accepted = acceptingServer(socket);
    if (entry === undefined && accepted !== null && accepted !== server) entry = entryOf(accepted);
    if (entry === undefined) return entryUnderTls(socket);
  }
  if (entry.tls && !tlsHandshakeDone(socket)) return undefined;
  return entry;
}

/**
 * A TLSSocket made over a socket of a lingering server, by the application (STARTTLS) or by a TLS
 * server without lingering close given it: the connection is that server's, and its TLSSocket is
 * what closes it (close_notify, then FIN), once its handshake is done. Found nowhere, its half-close
 * went unbounded and uncounted (the raw socket under it is never ended itself), and lingeringClose()
 * counted it in the thread's pool. A client socket, or one of no TLS, pays one handle read.
 */
function entryUnderTls(socket: SocketInternals): ServerEntry | undefined {
  const handle = socket._handle;
  const raw = handle === null ? null : tlsParentStream(handle);
  if (raw === null || raw === socket || !(raw instanceof net.Socket)) return undefined;
  const entry = serverEntryOf(raw as SocketInternals);
  return entry !== undefined && tlsHandshakeDone(socket) ? entry : undefined;
}
