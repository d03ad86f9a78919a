import net from 'node:net';

import { invalidArgType, invalidArgValue, isInstance, unsupported } from '../errors.js';
import { serverKind } from '../node-handle.js';
import { currentPlatform } from '../platform/index.js';
import { requireNative } from '../target.js';
import { claimServer, serverManager } from './claims.js';
import { installLingeringHooks } from './hooks.js';
// Loaded with this module: it answers other copies' calls on this copy's sockets (claims.ts).
import './lingering-close.js';
import { abortOwner } from './managed.js';
import { abortSignalOption, lingerMode, lingerSettings, poolLimits, refuseUnknownEnableOptions, reportCallback } from './options.js';
import { preparePool } from './native-lingerer.js';
import { LingerPool } from './pool.js';
import { addServer, removeServer, type Owner } from './servers.js';
import { whenAborted } from './signals.js';
import type { EnableLingeringCloseOptions, LingeringCloseControl } from './types.js';

// Per server, the pools of an undone enable whose sockets still linger (taken over by the next
// enable; a pool that has drained is dropped then, or, with no next enable, with the server).
const lingeringAfterUndo = new WeakMap<net.Server, LingerPool[]>();
// Each pool's owner: an abort reaches the closes an earlier enable of the same server began too.
const ownerOf = new WeakMap<LingerPool, Owner>();

/**
 * Makes every connection of `server` end with a lingering close (see {@link lingeringClose}),
 * whichever path closes it: with Node's http server, `Connection: close` and HTTP/1.0 responses,
 * early responses to bodies never read (413, 401, …), keep-alive and socket timeouts,
 * headers/request timeouts (408), parse errors (400), `closeIdleConnections()`,
 * `closeAllConnections()` and `server.close()`; with a plain `net.Server`, any `destroy()`,
 * `destroySoon()` or end of both directions. `hardReset()` and `resetAndDestroy()` still reset at
 * once. With `mode: 'as-needed'` (nginx's default), an http(s) connection whose every request was
 * read whole and answered closes as Node closes it instead (counted in `stats().notNeeded`).
 *
 * Applies to every connection of `server` that closes from now on, those already open included
 * (TLS servers: once the handshake is done, the sockets `'secureConnection'` gives; close_notify
 * is sent before FIN), and to sockets handed on: those `server` accepted and gave to another
 * server, and those given to it with `server.emit('connection', socket)` (a plain net.Server: given
 * once lingering close is enabled; Node records nothing of a hand-over, so a socket given before
 * the enable closes as Node closes it).
 *
 * Bounded: at most `maxLingering` sockets linger at once (past it a closing socket closes at
 * once, counted as `'overload'`); past `shortLingerAbove` lingers are short; every linger ends
 * within `maxTimeout`; at most `maxDrainBytes` are read per socket.
 *
 * A forced close (a timeout, `closeAllConnections()`) discards what Node had not yet handed to
 * libuv, as Node always does; what libuv and the kernel hold is delivered before our FIN.
 *
 * `options.signal` is for shutdowns with a deadline: aborting it undoes lingering close and ends
 * every close of the server that began, at once (reason `'aborted'`).
 *
 * @param server - A `net.Server`, `http.Server`, `https.Server` or `tls.Server`.
 * @param options - {@link EnableLingeringCloseOptions}.
 * @returns A function that undoes it (sockets already lingering finish their bounded linger),
 *   with `stats()` for the server's counters.
 * @throws `ERR_SOCKCLOSE_UNSUPPORTED` without the native binary or on Windows; `ERR_INVALID_ARG_VALUE`
 *   if lingering close is already enabled on `server`, by this copy of sockclose or by another one
 *   loaded in the same thread (a second install); `ERR_INVALID_ARG_TYPE` for a `server` that is no
 *   net.Server and for options of the wrong type, `ERR_OUT_OF_RANGE` for numbers outside their
 *   ranges (see {@link EnableLingeringCloseOptions}; `shortLingerAbove` at most `maxLingering`),
 *   `ERR_INVALID_ARG_VALUE` for an `onTimeout` or `mode` it does not take and for an option it
 *   does not have (a misspelt one, named with the option meant), rather than leave a default in
 *   force unsaid.
 * @example
 * ```ts
 * const server = http.createServer(handler);
 * const disable = enableLingeringClose(server);
 * // … later
 * console.log(disable.stats()); // { lingering: 0, reasons: { eof: 1234, … }, … }
 *
 * // A shutdown that waits for lingers at most 5 s:
 * const shutdown = new AbortController();
 * enableLingeringClose(server, { signal: shutdown.signal });
 * server.close();
 * setTimeout(() => shutdown.abort(), 5000).unref();
 * ```
 */
export function enableLingeringClose(server: net.Server, options: EnableLingeringCloseOptions = {}): LingeringCloseControl {
  if (!isInstance(server, net.Server)) throw invalidArgType('server', 'an instance of net.Server', server, enableLingeringClose);
  const settings = lingerSettings(options, enableLingeringClose);
  refuseUnknownEnableOptions(options, enableLingeringClose);
  const limits = poolLimits(options, enableLingeringClose);
  const onReport = reportCallback(options, enableLingeringClose);
  const signal = abortSignalOption(options, enableLingeringClose);
  const asNeeded = lingerMode(options, enableLingeringClose) === 'as-needed';
  const platform = currentPlatform();
  if (!platform.hasDescriptors) throw unsupported(platform.noDescriptorsReason!, enableLingeringClose);
  requireNative(enableLingeringClose);
  const manager = serverManager(server);
  if (manager === 'this') {
    throw invalidArgValue('server', server, 'already has lingering close enabled (call the function it returned first)', enableLingeringClose);
  }
  // Two copies of sockclose (two installs) would each take its sockets' closes, and split or double
  // their counters: the first copy keeps the server.
  if (manager === 'other') {
    throw invalidArgValue('server', server, 'already has lingering close enabled by another copy of sockclose loaded in this thread (call the function that copy returned first)', enableLingeringClose);
  }

  const pool = new LingerPool(limits);
  // Sockets still lingering from an enable undone earlier are this server's too (maxLingering,
  // drained()).
  const undone = lingeringAfterUndo.get(server);
  if (undone) {
    lingeringAfterUndo.delete(server);
    pool.takeOver(undone);
  }
  preparePool();
  const owner: Owner = { active: true, aborted: false, pool, onReport, asNeeded };
  ownerOf.set(pool, owner);
  // A TLS server's sockets are the TLSSocket objects Node (and http) close, not the raw ones.
  const kind = serverKind(server);
  // Nothing per connection: a closing socket finds its server (src/lingering/servers.ts).
  installLingeringHooks();
  addServer(server, { owner, settings, tls: kind === 'tls' }, kind);
  claimServer(server, true);

  // Undone, and every close that began ends now, those of an enable undone before this one
  // included (drained() waits for them too); already aborted: enabled and undone at once.
  const abort = (): void => {
    disable();
    abortOwner(owner);
    for (const earlier of pool.stillLingering()) {
      const earlierOwner = ownerOf.get(earlier);
      if (earlier !== pool && earlierOwner !== undefined) abortOwner(earlierOwner);
    }
  };
  const disable = (): void => {
    if (!owner.active) return;
    // Sockets whose close began finish their bounded linger; the others close as Node does.
    owner.active = false;
    const left = pool.stillLingering();
    if (left.length > 0) lingeringAfterUndo.set(server, left);
    removeServer(server);
    claimServer(server, false);
    server.off('close', onServerClosed).off('listening', watchSignal);
    // The signal still ends the closes under way; once they have ended it lets go of this server
    // (a long-lived signal kept its pool reachable).
    if (forgetSignal) void pool.drained().then(unwatchSignal);
  };
  // The signal's action holds the server (and its pool and handler): a closed server, its lingers
  // over, is let go of (a shutdown signal shared by many short-lived servers kept every one of
  // them, ~2 KB each plus what its handler held), and watched again if it listens again.
  let forgetSignal: (() => void) | null = null;
  const watchSignal = (): void => {
    if (forgetSignal === null && owner.active && signal && !signal.aborted) forgetSignal = whenAborted(signal, abort);
  };
  const unwatchSignal = (): void => {
    forgetSignal?.();
    forgetSignal = null;
  };
  const onServerClosed = (): void => {
    void pool.drained().then(() => {
      if (!server.listening) unwatchSignal();
    });
  };
  if (signal) {
    if (signal.aborted) abort();
    else {
      watchSignal();
      server.on('close', onServerClosed).on('listening', watchSignal);
    }
  }
  return Object.assign(disable, { stats: () => pool.snapshot(), drained: () => pool.drained() });
}
