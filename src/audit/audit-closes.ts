import net from 'node:net';

import { invalidArgType, invalidArgValue, isInstance, isOptionsObject, outOfRange } from '../errors.js';
import { optionKeys, refuseUnknown } from '../option-keys.js';
import { Recorder, watchServer } from './recorder.js';
import type { AuditClosesOptions, CloseAudit } from './types.js';

const DEFAULT_RECENT = 100;
const MAX_RECENT = 100_000;
const AUDIT_KEYS = optionKeys<AuditClosesOptions>({ recent: true });

const audited = new WeakSet<net.Server>();

/**
 * Records, for every connection of `server` that closes from now on (those it accepted, and those
 * it is given: `server.emit('connection', socket)`, or for http a request another server's
 * connection brought), how it ended as the kernel saw it right before the descriptor closed: FIN
 * or RST, request bytes left unread, response bytes unsent and unacknowledged, whether a lingering
 * close handled it, and (http, https) the request last on it. Keeps counters and a bounded ring of
 * the latest RST closes that had sent response data, and says in one sentence what the numbers mean.
 *
 * It never changes how, or when, a connection ends: it reads the kernel's state once per close
 * (one probe: a few getsockopt/ioctl calls) and keeps nothing per connection but, for http, the
 * response last on it until the close (a socket given to it carries the servers it went through).
 * Each recorded close is also published on `sockclose:audit:close` (see docs/observability.md). A
 * socket handed from one audited server to another is recorded by each audit, once. TLS servers:
 * each connection is recorded once, as its TLSSocket (a failed handshake included). Without the
 * native binary (or on a platform that cannot tell) closes count as `'unknown'`.
 *
 * @param server - A `net.Server`, `http.Server`, `https.Server` or `tls.Server`.
 * @param options - {@link AuditClosesOptions}.
 * @returns A {@link CloseAudit}: `counts()`, `recent()`, `summary()`, `stop()`.
 * @throws `ERR_INVALID_ARG_VALUE` if `server` is already audited; `ERR_INVALID_ARG_TYPE` for options
 *   that are not an object or a `recent` that is not a number, `ERR_OUT_OF_RANGE` for a bad number,
 *   `ERR_INVALID_ARG_VALUE` for an option it does not have (a misspelt `recent`).
 * @example
 * ```ts
 * const audit = auditCloses(server);
 * process.on('SIGUSR2', () => console.error(audit.summary()));
 * // "37 of 1,000 connections ended with RST while the client had not received 1.2 MB of responses; enable lingering close."
 * ```
 */
export function auditCloses(server: net.Server, options: AuditClosesOptions = {}): CloseAudit {
  if (!isInstance(server, net.Server)) throw invalidArgType('server', 'an instance of net.Server', server, auditCloses);
  if (!isOptionsObject(options)) throw invalidArgType('options', 'of type object', options, auditCloses);
  refuseUnknown(options, AUDIT_KEYS, 'options', 'an option of auditCloses()', auditCloses);
  const size = options.recent === undefined ? DEFAULT_RECENT : options.recent;
  if (typeof size !== 'number') throw invalidArgType('options.recent', 'of type number', size, auditCloses);
  if (!Number.isInteger(size) || size < 0 || size > MAX_RECENT) {
    throw outOfRange('options.recent', `an integer >= 0 and <= ${MAX_RECENT}`, size, auditCloses);
  }
  if (audited.has(server)) throw invalidArgValue('server', server, 'is already audited (call stop() on its audit first)', auditCloses);
  audited.add(server);

  const recorder = new Recorder(size);
  const watch = watchServer(server, recorder);
  let stopped = false;
  return {
    counts: () => recorder.snapshot(),
    recent: () => recorder.recent(),
    summary: () => recorder.summary(),
    stop: () => {
      if (stopped) return;
      stopped = true;
      watch.stop();
      audited.delete(server);
    },
  };
}
