// Helpers for the node:test compatibility suite. Plain ES modules that Node 18.12 runs as they are
// (no TypeScript, no vitest, no import.meta.dirname): the suite runs on Node lines where vitest 4
// cannot (it needs Node >= 20.19), against the same built lib/ and native binary.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The package root under test: $SOCKCLOSE_COMPAT_ROOT (an installed copy), else this checkout. */
export const root = process.env.SOCKCLOSE_COMPAT_ROOT ? path.resolve(process.env.SOCKCLOSE_COMPAT_ROOT) : path.resolve(here, '..', '..');
export const libIndex = path.join(root, 'lib', 'index.js');

const require = createRequire(import.meta.url);
/** The package as users load it: Node's require of the built CommonJS entry. */
export const sockclose = require(libIndex);

/** Every wait in the suite is bounded by this, and fails loudly naming what it waited for. */
export const STEP_MS = 5000;

/** Resolves with `promise`, or rejects after `ms` naming `what`. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The arguments of the next `event` on `emitter`; rejects on 'error' (unless that is the event). */
export function nextEvent(emitter, event, ms = STEP_MS) {
  return within(
    new Promise((resolve, reject) => {
      const onEvent = (...args) => {
        emitter.off('error', onError);
        resolve(args);
      };
      const onError = (error) => {
        emitter.off(event, onEvent);
        reject(error);
      };
      emitter.once(event, onEvent);
      if (event !== 'error') emitter.once('error', onError);
    }),
    ms,
    `'${event}'`,
  );
}

/** Resolves on 'close', whatever errors come first (a reset peer emits ECONNRESET before it). */
export function closed(emitter, ms = STEP_MS) {
  if (emitter.destroyed && emitter.closed) return Promise.resolve();
  emitter.on('error', () => {});
  return within(new Promise((resolve) => emitter.once('close', resolve)), ms, "'close'");
}

/** Polls `condition` for a kernel state that emits no event (bounded by `ms`). */
export async function until(condition, what, ms = STEP_MS) {
  const deadline = Date.now() + ms;
  for (let delay = 1; ; delay = Math.min(delay * 2, 25)) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Listens on an ephemeral loopback port (or a Unix path). */
export async function listen(server, where = '127.0.0.1') {
  if (typeof where === 'string') server.listen(0, where);
  else server.listen(where.path);
  await nextEvent(server, 'listening');
  return server;
}

export function portOf(server) {
  return server.address().port;
}

/**
 * A connected TCP pair. The client is paused before it connects, so Node never reads from it: a
 * reset then stays pending in its kernel socket, where peekSocketError() can see it.
 */
export async function tcpPair(host = '127.0.0.1', { allowHalfOpen = false } = {}) {
  const listener = await listen(net.createServer(), host);
  const accepted = nextEvent(listener, 'connection');
  const client = net.connect({ port: portOf(listener), host, allowHalfOpen });
  client.pause();
  await nextEvent(client, 'connect');
  const [server] = await accepted;
  return { client, server, listener, port: portOf(listener) };
}

/** Closes sockets and servers, whatever state they are in. */
export function closeAll(...things) {
  for (const thing of things) {
    if (!thing) continue;
    if (typeof thing.destroy === 'function') thing.destroy();
    else if (typeof thing.close === 'function' && thing.listening !== false) thing.close();
  }
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'sockclose-compat-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** TCP sockets on `port` as `ss` sees them: [{ state, local, peer }] (all states). */
export function ssByPort(port) {
  const out = execFileSync('ss', ['-Htan', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [state = '', , , local = '', peer = ''] = line.trim().split(/\s+/);
      return { state, local, peer };
    });
}

/**
 * The kernel's sockets of ONE connection, named by its two ports (the listener's and the
 * client's), in any state but LISTEN. Filtering by the listener's port alone is not enough: Node
 * listens with SO_REUSEADDR, so a new listener can get a port that still has TIME-WAIT sockets of
 * an older connection (ours or another test process's).
 */
export function connectionRows(serverPort, clientPort) {
  const ends = (address, port) => address.endsWith(`:${port}`);
  return ssByPort(serverPort)
    .filter((row) => row.state !== 'LISTEN')
    .filter((row) => (ends(row.local, serverPort) && ends(row.peer, clientPort)) || (ends(row.local, clientPort) && ends(row.peer, serverPort)))
    .map((row) => `${row.state} ${row.local} ${row.peer}`);
}

/**
 * Waits until the kernel keeps nothing of the connection (bounded), failing with what is left.
 * After a reset and both closes nothing is left at once; the wait covers only a segment still
 * crossing loopback. A FIN close leaves FIN-WAIT-2 or TIME-WAIT behind for a minute.
 */
export async function connectionGone(serverPort, clientPort, ms = STEP_MS) {
  try {
    await until(() => connectionRows(serverPort, clientPort).length === 0, 'nothing is left of the connection', ms);
  } catch (error) {
    throw new Error(`${error.message}: ${connectionRows(serverPort, clientPort).join(', ')}`);
  }
}

let cert;
/** A throwaway self-signed certificate for CN=localhost (openssl, EC key: fast). */
export function testCert() {
  if (cert) return cert;
  const dir = tempDir('sockclose-compat-tls-');
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', certFile],
    { stdio: 'ignore' },
  );
  cert = { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) };
  fs.rmSync(dir, { recursive: true, force: true });
  return cert;
}
