import net from 'node:net';

import { abortivelyClosed, closedSocket, invalidArgValue, underTls, type SystemError } from '../errors.js';
import { Field } from '../native/layout.js';
import { carriesTls, http2Transport } from '../node-handle.js';
import { notASocket, probe, realSocket, requireNative, resolveSocket, socketKind, type SocketInternals } from '../target.js';
import { answerWith, otherManager } from './claims.js';
import { installLingeringHooks } from './hooks.js';
import { abortiveLingerSet, Flush, isSystemError, manageDirect, type Managed, type Owner } from './managed.js';
import { preparePool } from './native-lingerer.js';
import { abortSignalOption, defaultLimits, givenLingerSettings, lingerSettings, refuseUnknownCallOptions } from './options.js';
import { LingerPool } from './pool.js';
import { whenAborted } from './signals.js';
import type { LingerReport, LingeringCloseCallOptions } from './types.js';

// Direct calls on sockets of no lingering server share one owner per thread, with default bounds.
let threadOwner: Owner | undefined;

/**
 * Closes a connection the way Apache httpd and nginx do, so that the peer gets every byte of the
 * response even when it sent input that was never read (a plain close would send RST, and the
 * peer's kernel would throw the response away).
 *
 * 1. Flush: `end()` the socket, so Node writes everything still queued (TLS: then close_notify),
 *    then FIN.
 * 2. Linger: read and discard input until the peer's FIN, an idle timeout (`idleTimeout`, default
 *    2 s), a total cap (`maxTimeout`, default 30 s, counted from this call) or `maxDrainBytes`.
 * 3. Close. After a timeout or the byte cap the close is abortive by default (RST, no TIME_WAIT,
 *    as nginx's `reset_timedout_connection`); `onTimeout: 'close'` closes normally instead.
 *
 * The bounds hold from this call on, the flush included. Nothing read from this call on reaches
 * the socket's listeners (or Node's http parser): it is dropped and counted in `drainedBytes`.
 * The socket is `destroyed` once the flush is done; the linger itself runs in native code on the
 * event loop, after Node has let go of the socket (it emits `'close'` then). The promise resolves
 * when the descriptor is closed. An `'error'` the socket emits meanwhile is caught and reported
 * (a reset during the flush: `reason: 'error'`). Called again while the close runs, it returns
 * that close's outcome (the first call's options stand). `signal` ends it early (reason
 * `'aborted'`), closed as a timeout closes it.
 *
 * With two copies of sockclose in one application (two installs), a socket lingers once: a call
 * on a socket whose close another copy has begun, or of a server another copy enabled lingering
 * close on, is answered by that copy (counted in its stats, reported to its `onReport`).
 *
 * Needs the native binary.
 *
 * @param socket - A connected `net.Socket` or `tls.TLSSocket` (TCP or AF_UNIX).
 * @param options - {@link LingeringCloseCallOptions}.
 * @returns A promise of the {@link LingerReport}. It rejects with `ERR_SOCKCLOSE_CLOSED` if the
 *   socket is already destroyed, or is closed abortively before it could linger (`hardReset()`,
 *   Node's `resetAndDestroy()`, or SO_LINGER {1, 0} from `setLinger(socket, 0)`: then it is reset
 *   with no FIN before the RST);
 *   with `ERR_SOCKCLOSE_NO_FD` / `ERR_SOCKCLOSE_UNSUPPORTED` when there is no descriptor to watch;
 *   with `ENOTSOCK` (`syscall: 'getsockopt'`) for a socket over a pipe that is no socket (a FIFO),
 *   left open;
 *   with `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` / `ERR_INVALID_ARG_VALUE` for bad arguments
 *   (never thrown: an option it does not have, a misspelt bound, is one); `ERR_INVALID_ARG_VALUE`
 *   too for the socket of a live http2 session (or its proxy, `session.socket`), whose frames still
 *   queued in the session would be lost: close the session instead (`session.close()`), under
 *   {@link enableLingeringClose}; and for the net.Socket under a live TLS connection (pass the
 *   `tls.TLSSocket`, whose close sends close_notify first).
 * @example
 * ```ts
 * // A 413 to an upload we will not read, without losing the 413 to an RST.
 * socket.write('HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
 * const report = await lingeringClose(socket);
 * console.log(report.reason, report.drainedBytes); // 'eof' 4194304
 * ```
 */
export function lingeringClose(socket: net.Socket, options: LingeringCloseCallOptions = {}): Promise<LingerReport> {
  try {
    const kind = socketKind(socket);
    if (kind === 'other') throw notASocket(socket, 'socket', 'an instance of net.Socket', lingeringClose);
    // http2's socket proxy once its session closed: every read of it throws.
    if (kind === 'unbound') throw closedSocket(lingeringClose);
    refuseUnknownCallOptions(options, lingeringClose);
    const signal = abortSignalOption(options, lingeringClose);
    const given = givenLingerSettings(options, lingeringClose);
    const real = realSocket(socket);
    // A second call while one runs: the same close (the first call's options stand).
    const running = closing.get(real);
    if (running) return running;
    // Another copy of sockclose (a second install) manages this socket's close, or its server's:
    // that copy answers, as it answers a call of its own. One linger, one report, counted once.
    const manager = otherManager(real);
    // The values already read, so the caller's getters run once.
    if (manager) return manager.lingeringClose(socket, signal ? { ...given, signal } : given);
    // Checks it is not destroyed, that there is a live descriptor to watch, and (next) the binary.
    const resolved = resolveSocket(real, lingeringClose, 'stream');
    // A live http2 session writes through nghttp2, whose frames end() does not flush: a response
    // just written (HEADERS, DATA) never reached the peer, and the close was reported as 'eof'.
    // Its socket ends with the session (session.close(): GOAWAY first; enableLingeringClose()
    // lingers it then).
    if (http2Transport(real) && !real.writableEnded) {
      throw invalidArgValue('socket', socket, 'is the transport of a live http2 session, whose queued frames end() would lose: close the session (session.close(), under enableLingeringClose())', lingeringClose);
    }
    if (carriesTls(real)) throw underTls('socket', socket, lingeringClose);
    requireNative(lingeringClose);
    // A Pipe handle may hold a pipe that is no socket (a FIFO, process.stdin from a shell pipe),
    // which no linger can watch: the lingerer's refusal was reported as 'overload', the pipe
    // closed. Its getsockopt() error now, before anything changes, as inspectSocket() says.
    if (resolved.transport === 'unix') probe(resolved.fd, Field.describe, lingeringClose);
    installLingeringHooks();
    const state = manageDirect(
      real,
      (base) => lingerSettings(given, lingeringClose, base),
      () => (threadOwner ??= threadPoolOwner()),
    );
    // Aborted already: no flush (nothing is end()ed), the close ends as a timeout ends it.
    if (signal?.aborted) state.expired ??= 'aborted';
    const close = closeDirect(real, state);
    closing.set(real, close);
    if (signal && !signal.aborted) abortWith(signal, real, state, close);
    // Settled, the close is over: a later call finds the socket destroyed, and says so.
    const forget = (): void => void closing.delete(real);
    close.then(forget, forget);
    return close;
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Ends the close when `signal` aborts; it is listed only until the close settles. */
function abortWith(signal: AbortSignal, socket: SocketInternals, state: Managed, close: Promise<LingerReport>): void {
  const forget = whenAborted(signal, () => state.abort(socket));
  close.then(forget, forget);
}

answerWith(lingeringClose);

// The close each socket is in (lingeringClose() called twice gives the first one's promise).
const closing = new WeakMap<SocketInternals, Promise<LingerReport>>();

async function closeDirect(socket: SocketInternals, state: Managed): Promise<LingerReport> {
  // Node's own error for the connection's failure: the first system error the socket emits (one
  // the application emitted on it, a plain Error, is not the connection's).
  let emitted = null as SystemError | null;
  const onError = (error: Error) => {
    if (isSystemError(error)) emitted ??= error;
  };
  socket.on('error', onError);
  try {
    const report = await new Promise<LingerReport | null>((resolve) => {
      state.consumer = resolve;
      // No report by then and none to come: closed without a linger (an abortive close).
      socket.once('close', () => {
        if (!state.handedOver) resolve(state.report);
      });
      void flush(socket, state).then(() => {
        if (!socket.destroyed) socket.destroy();
      });
    });
    if (!report) throw state.abortive ? abortivelyClosed(lingeringClose) : closedSocket(lingeringClose);
    // Node's own error object for the failure, the one the socket's 'error' listeners saw.
    return report.reason === 'error' && emitted ? { ...report, error: emitted } : report;
  } finally {
    socket.off('error', onError);
  }
}

function threadPoolOwner(): Owner {
  const pool = new LingerPool(defaultLimits());
  preparePool();
  return { active: true, aborted: false, pool, onReport: null, asNeeded: false };
}

/**
 * end(), then wait until Node has written everything and handed the kernel our FIN ('finish'),
 * within the close's bounds (idle, total, drained bytes: see {@link Flush}); meanwhile input is
 * dropped, never given to the application or its http parser. A bound that ends the flush ends
 * the close as a timed-out linger does.
 */
async function flush(socket: SocketInternals, state: Managed): Promise<void> {
  const handle = socket._handle;
  // Refused (its pool is full): no flush, the close ends at once as an overloaded close does.
  if (socket.writableFinished || socket.destroyed || !handle || state.expired !== null || state.admission === 'refused') return;
  // setLinger(socket, 0) before this call: a reset was asked for, and end() would send FIN first.
  if (!socket.writableEnded && abortiveLingerSet(handle)) return;
  const flushing = new Flush(socket, handle, state);
  const wake = (): void => flushing.wake();
  socket.on('finish', wake);
  socket.on('close', wake);
  try {
    if (!socket.writableEnded) socket.end();
    const end = await flushing.until(() => socket.writableFinished || socket.destroyed);
    if (end !== 'flushed') state.expired = end;
  } finally {
    socket.off('finish', wake);
    socket.off('close', wake);
  }
}
