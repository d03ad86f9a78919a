import net from 'node:net';
import type tls from 'node:tls';

import { invalidArgType, invalidArgValue, unsupported } from '../errors.js';
import { currentPlatform } from '../platform/index.js';
import { realSocket, requireNative } from '../target.js';
import { manage, type Owner } from './managed.js';
import { lingerSettings, poolLimits, reportCallback } from './options.js';
import { registerPool, unregisterPoolWhenIdle } from './native-lingerer.js';
import { LingerPool } from './pool.js';
import type { EnableLingeringCloseOptions, LingeringCloseControl } from './types.js';

const enabled = new WeakSet<net.Server>();

/**
 * Makes every connection of `server` end with a lingering close (see {@link lingeringClose}),
 * whichever path closes it: with Node's http server, `Connection: close` and HTTP/1.0 responses,
 * early responses to bodies never read (413, 401, …), keep-alive and socket timeouts,
 * headers/request timeouts (408), parse errors (400), `closeIdleConnections()`,
 * `closeAllConnections()` and `server.close()`; with a plain `net.Server`, any `destroy()`,
 * `destroySoon()` or end of both directions. `hardReset()` and `resetAndDestroy()` still reset at
 * once.
 *
 * Applies to connections accepted from now on (TLS servers: once the handshake is done, the
 * sockets `'secureConnection'` gives; close_notify is sent before FIN).
 *
 * Bounded: at most `maxLingering` sockets linger at once (past it a closing socket closes at
 * once, counted as `'overload'`); past `shortLingerAbove` lingers are short; every linger ends
 * within `maxTimeout`; at most `maxDrainBytes` are read per socket.
 *
 * A forced close (a timeout, `closeAllConnections()`) discards what Node had not yet handed to
 * libuv, as Node always does; what libuv and the kernel hold is delivered before our FIN.
 *
 * @param server - A `net.Server`, `http.Server`, `https.Server` or `tls.Server`.
 * @param options - {@link EnableLingeringCloseOptions}.
 * @returns A function that undoes it (sockets already lingering finish their bounded linger),
 *   with `stats()` for the server's counters.
 * @throws `ERR_SOCKCLOSE_UNSUPPORTED` without the native binary or on Windows; `ERR_INVALID_ARG_VALUE`
 *   if lingering close is already enabled on `server`.
 * @example
 * ```ts
 * const server = http.createServer(handler);
 * const disable = enableLingeringClose(server);
 * // … later
 * console.log(disable.stats()); // { lingering: 0, reasons: { eof: 1234, … }, … }
 * ```
 */
export function enableLingeringClose(server: net.Server, options: EnableLingeringCloseOptions = {}): LingeringCloseControl {
  if (!(server instanceof net.Server)) throw invalidArgType('server', 'an instance of net.Server', server, enableLingeringClose);
  const settings = lingerSettings(options, enableLingeringClose);
  const limits = poolLimits(options, enableLingeringClose);
  const onReport = reportCallback(options, enableLingeringClose);
  const platform = currentPlatform();
  if (!platform.hasDescriptors) throw unsupported(platform.noDescriptorsReason!, enableLingeringClose);
  requireNative(enableLingeringClose);
  if (enabled.has(server)) {
    throw invalidArgValue('server', '[server]', 'already has lingering close enabled (call the function it returned first)', enableLingeringClose);
  }

  const pool = new LingerPool(limits);
  registerPool(pool);
  const owner: Owner = { active: true, pool, onReport };
  // A TLS server's sockets are the TLSSocket objects Node (and http) close, not the raw ones.
  // tls is loaded here, not with the module: it brings all of crypto, which require('sockclose')
  // should not pay for.
  const { Server: TlsServer } = require('node:tls') as typeof tls;
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection';

  const onConnection = (accepted: net.Socket): void => {
    const socket = realSocket(accepted);
    if (socket.destroyed || !socket._handle) return;
    manage(socket, owner, settings);
  };
  // First in line: the application's own listener may close the socket at once.
  server.prependListener(event, onConnection);
  enabled.add(server);

  const disable = (): void => {
    if (!owner.active) return;
    // Its sockets see the switch at their close (no per-socket bookkeeping on the hot path).
    owner.active = false;
    pool.open = false;
    unregisterPoolWhenIdle(pool);
    server.off(event, onConnection);
    enabled.delete(server);
  };
  return Object.assign(disable, { stats: () => pool.snapshot(), drained: () => pool.drained() });
}
