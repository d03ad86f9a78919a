// Real loopback sockets for tests: servers on an ephemeral port, connected pairs, and the kernel's
// own view of them (ss). Nothing leaves 127.0.0.1 / ::1 / the test's Unix socket directory.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { nextEvent, within } from './wait.js';

// The peer ports of every connection a server made by listen() accepted: TIME_WAIT counts must
// match both ports, since listen(0) may reuse a port whose earlier connections are in TIME_WAIT.
const acceptedPeers = new WeakMap<net.Server, Set<number>>();

/** Listens on an ephemeral loopback port (or a path) and resolves once listening. */
export async function listen<S extends net.Server>(server: S, host: string | { path: string } = '127.0.0.1'): Promise<S> {
  const peers = new Set<number>();
  acceptedPeers.set(server, peers);
  server.on('connection', (socket: net.Socket) => {
    if (socket.remotePort !== undefined) peers.add(socket.remotePort);
  });
  if (typeof host === 'string') server.listen(0, host);
  else server.listen(host.path);
  await nextEvent(server, 'listening');
  return server;
}

/** The port a listening server got. */
export function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

/** Closes a server and every connection it still has. */
export async function closeServer(server: net.Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  await within(closed, 5000, 'server close');
}

/**
 * A port on 127.0.0.1 that was free a moment ago, for a program that must be told its port before
 * it listens. A test running in parallel may take it meanwhile: the caller retries on EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const listener = net.createServer().listen(0, '127.0.0.1');
  await nextEvent(listener, 'listening');
  const { port } = listener.address() as net.AddressInfo;
  await closeServer(listener);
  return port;
}

/** A loopback port that refuses connections until closed (see {@link refusingPort}). */
export interface RefusingPort {
  port: number;
  close(): Promise<void>;
}

/**
 * A port on 127.0.0.1 where a connect() is refused (the SYN finds no listener: RST, ECONNREFUSED)
 * for as long as the port is held: the local port of a connected client socket, which no listener
 * can take (the client has no SO_REUSEADDR, so a bind() to it conflicts and listen(0) passes it
 * over). A closed server's port refuses only until a test running in parallel listens on it
 * again, and then the connect reaches that test's server. `close()` closes the pair.
 */
export async function refusingPort(): Promise<RefusingPort> {
  const { client, server, listener } = await tcpPair();
  return {
    port: client.localPort!,
    close: async () => {
      client.destroy();
      server.destroy();
      await closeServer(listener);
    },
  };
}

/** How {@link tcpPair} makes its pair. */
export interface PairOptions {
  /** Default '127.0.0.1'; '::1' for IPv6. */
  host?: string;
  /** The listening server's options: `pauseOnConnect` (the server side never reads until told), `allowHalfOpen`. */
  server?: net.ServerOpts;
  /** The client stays open after the server's FIN (Node answers none by itself). */
  clientHalfOpen?: boolean;
}

/**
 * A connected client/server socket pair over TCP (IPv4 by default; a string is the host). The
 * caller closes all three, listener included.
 */
export async function tcpPair(options: string | PairOptions = {}): Promise<{ client: net.Socket; server: net.Socket; listener: net.Server }> {
  const { host = '127.0.0.1', server: serverOptions = {}, clientHalfOpen = false } = typeof options === 'string' ? { host: options } : options;
  const listener = await listen(net.createServer(serverOptions), host);
  const accepted = nextEvent<[net.Socket]>(listener, 'connection');
  const client = net.connect({ port: portOf(listener), host, allowHalfOpen: clientHalfOpen });
  await nextEvent(client, 'connect');
  const [server] = await accepted;
  return { client, server, listener };
}

// Every directory tempDir() made in this test file: test/setup/temp-dirs.ts fails the file if one is
// still there after its tests (three tests once left an empty one behind on every run).
const madeTempDirs = new Set<string>();

/** A fresh directory for Unix sockets, removed by the caller's cleanup. */
export function tempDir(prefix = 'sockclose-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeTempDirs.add(dir);
  return dir;
}

/** The directories {@link tempDir} made in this file that still exist. */
export function tempDirsLeft(): string[] {
  return [...madeTempDirs].filter((dir) => fs.existsSync(dir));
}

/** A connected client/server pair over an AF_UNIX stream socket. */
export async function unixPair(): Promise<{ client: net.Socket; server: net.Socket; listener: net.Server; dir: string }> {
  const dir = tempDir();
  const listener = await listen(net.createServer(), { path: path.join(dir, 's.sock') });
  const accepted = nextEvent<[net.Socket]>(listener, 'connection');
  const client = net.connect(path.join(dir, 's.sock'));
  await nextEvent(client, 'connect');
  const [server] = await accepted;
  return { client, server, listener, dir };
}

/** One row of `ss -tan`. */
export interface SsRow {
  state: string;
  local: string;
  peer: string;
  localPort: number;
  peerPort: number;
}

/** TCP sockets the kernel has whose local or peer port is `port` (all states, TIME_WAIT included). */
export function ssByPort(port: number): SsRow[] {
  const out = execFileSync('ss', ['-Htan', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [state = '', , , local = '', peer = ''] = line.trim().split(/\s+/);
      const port = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
      return { state, local, peer, localPort: port(local), peerPort: port(peer) };
    });
}

/** TIME-WAIT sockets left on the server's side by the connections `server` (made by listen()) accepted. */
export function timeWaitOnServer(server: net.Server): number {
  const port = portOf(server);
  const peers = acceptedPeers.get(server);
  if (!peers) throw new Error('timeWaitOnServer() needs a server started with listen() from test/helpers/net.ts');
  return ssByPort(port).filter((row) => row.state === 'TIME-WAIT' && row.localPort === port && peers.has(row.peerPort)).length;
}

/**
 * Server-side sockets, in any state, still left by the connections `server` (made by listen())
 * accepted. An abortive close leaves none at once; a FIN close leaves FIN-WAIT or TIME-WAIT ones
 * (TIME-WAIT alone is not proof: it appears only once the peer's FIN has been processed).
 */
export function connectionsLeftOnServer(server: net.Server): number {
  const port = portOf(server);
  const peers = acceptedPeers.get(server);
  if (!peers) throw new Error('connectionsLeftOnServer() needs a server started with listen() from test/helpers/net.ts');
  return ssByPort(port).filter((row) => row.localPort === port && peers.has(row.peerPort)).length;
}

/** TIME-WAIT sockets with exactly these two ports, the first one local. */
export function timeWaitBetween(localPort: number, peerPort: number): number {
  return ssByPort(localPort).filter((row) => row.state === 'TIME-WAIT' && row.localPort === localPort && row.peerPort === peerPort).length;
}

/**
 * The sockets this process has open, as their /proc links (`socket:[inode]`). Leak checks compare
 * these sets rather than raw descriptor counts: Node may open or close unrelated descriptors
 * (eventfds, pipes, files) at any time, but a socket the code under test leaks stays in the set.
 */
export function openSockets(): Set<string> {
  const sockets = new Set<string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const link = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (link.startsWith('socket:')) sockets.add(link);
    } catch {
      // Closed between readdir and readlink (or the readdir's own descriptor): not open.
    }
  }
  return sockets;
}

/** The sockets open now that were not open in `before` (a set from openSockets()). */
export function socketsOpenedSince(before: Set<string>): string[] {
  return [...openSockets()].filter((link) => !before.has(link));
}

/**
 * A net.Socket over a FIFO opened read-write (Node gives it a Pipe handle, as AF_UNIX has: a
 * descriptor that is no socket), with the descriptor; `remove()` destroys it and the FIFO's directory.
 */
export function fifoSocket(): { socket: net.Socket; fd: number; remove(): void } {
  const dir = tempDir('sockclose-fifo-');
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const socket = new net.Socket({ fd, readable: true, writable: true });
  return {
    socket,
    fd,
    remove: () => {
      socket.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
