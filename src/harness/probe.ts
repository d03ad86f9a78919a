// probe(): connect, optionally send, read to the end, and tell how the peer really ended the
// connection (observeClose), with a time limit so a stalled peer cannot hold it.
import net from 'node:net';

import { invalidArgType } from '../errors.js';
import { queuedWriteBytes, type SocketInternals } from '../node-handle.js';
import { after, type Timer } from './clock.js';
import { observeClose, type CloseObservation } from './observe-close.js';
import { booleanOption, integerOption, MAX_MS, MAX_BUFFER, nonEmptyString, optionKeys, optionsObject, refuseUnknown, unbracket } from './options.js';

/** Options for {@link probe}. */
export interface ProbeOptions {
  /**
   * What to send once connected: a byte count (that many `'x'`, at most what one Buffer holds;
   * written in 64 KiB pieces as the connection takes them, never held whole), a string, or bytes.
   * Default nothing.
   */
  send?: number | string | Uint8Array | undefined;
  /** Send FIN after sending (a half-close); the peer's reply is still read. Default false. */
  shutdown?: boolean | undefined;
  /** Give up this long after connecting if the peer has not ended the connection; then this side closes. Default 10,000 ms. */
  timeoutMs?: number | undefined;
  /** Give up connecting after this long. Default `timeoutMs`. */
  connectTimeoutMs?: number | undefined;
}

const PROBE_KEYS = optionKeys<ProbeOptions>({ send: true, shutdown: true, timeoutMs: true, connectTimeoutMs: true });

/**
 * The probe's one-word verdict: `'fin'` the peer closed cleanly; `'rst'` it reset; `'fin-rst'` it
 * closed, then reset (the kernel names it EPIPE); `'timeout'` it did neither in time;
 * `'connect-error'` no connection was made (refused, unreachable, connect timeout).
 */
export type ProbeOutcome = 'fin' | 'rst' | 'fin-rst' | 'timeout' | 'connect-error';

/** The fields of every {@link ProbeResult}, at their widest. */
export interface ProbeResultFields {
  /** The host probed, as given (IPv6 without brackets). */
  host: string;
  /** The port probed. */
  port: number;
  /** How the peer ended the connection; see {@link ProbeOutcome}. */
  outcome: ProbeOutcome;
  /** Bytes received from the peer before the end. */
  received: number;
  /**
   * Bytes this side handed to the kernel: Node's `bytesWritten` less what Node still held when the
   * connection closed (those never left), and less what a write that failed (EPIPE, ECONNRESET:
   * the peer had reset) had not yet handed over, which Node counts as written. libuv does not say
   * how much of a failed write the kernel took before it failed; the part last seen unhandled
   * counts as never sent, so if the kernel took more of it after that look, `sent` is short by
   * that much (never below what the peer acknowledged). Of these, `observation.bytes.acked` were
   * acknowledged.
   */
  sent: number;
  /** The connect error's code ('ECONNREFUSED', 'ETIMEDOUT', …), for outcome 'connect-error'. */
  connectError: string | null;
  /** Milliseconds from the start until connected; null if it never connected. */
  connectMs: number | null;
  /**
   * Milliseconds from the start until Node delivered the first byte (its `'data'` event); null if
   * none did. The kernel had it earlier: `endMs`, which a look at the kernel may give, can come out
   * smaller.
   */
  firstByteMs: number | null;
  /** Milliseconds from the start until the peer's end (FIN or RST) was seen; null if it did not end it. */
  endMs: number | null;
  /** Total milliseconds until the socket closed. */
  durationMs: number;
  /** The full observation of the connection's end. */
  observation: CloseObservation;
}

/** A probe that made no connection: `connectError` names why, and nothing was connected. */
export interface ProbeConnectErrorResult extends ProbeResultFields {
  outcome: 'connect-error';
  connectError: string;
  connectMs: null;
}

/**
 * A probe that connected, and how the peer ended the connection (or did not, in time).
 * `connectMs` is null only when the peer's reset came before Node had completed the connect.
 */
export interface ProbeConnectedResult extends ProbeResultFields {
  outcome: 'fin' | 'rst' | 'fin-rst' | 'timeout';
  connectError: null;
}

/**
 * What {@link probe} found; narrows on `outcome`: only `'connect-error'` has a `connectError`.
 */
export type ProbeResult = ProbeConnectErrorResult | ProbeConnectedResult;

/**
 * Connects to `host:port`, sends `options.send`, reads everything the peer sends, and reports how
 * the connection ended: FIN or RST (even when Node reports a reset as a clean end), after how many
 * bytes, with timings. Never rejects for network reasons: they are the result.
 *
 * @param host - Host name or address.
 * @param port - TCP port.
 * @param options - {@link ProbeOptions}.
 * @throws As a rejection, for bad arguments only: `ERR_INVALID_ARG_TYPE` for one of the wrong type
 *   (a host that is not a string), `ERR_INVALID_ARG_VALUE` for an empty host or a key that is no
 *   option (`timeout`: "did you mean 'timeoutMs'?"), `ERR_OUT_OF_RANGE` for a port or option out of range.
 * @example
 * ```ts
 * const result = await probe('127.0.0.1', 8125, { send: 4 });
 * if (result.outcome === 'rst') console.log(`reset after ${result.received} bytes`);
 * ```
 */
export async function probe(host: string, port: number, options: ProbeOptions = {}): Promise<ProbeResult> {
  nonEmptyString(host, 'host', probe);
  if (typeof port !== 'number') throw invalidArgType('port', 'of type number', port, probe);
  const endpoint = { host: unbracket(host), port: integerOption(port, 'port', 1, 65535, 0, probe) };
  const given = optionsObject(options, 'options', probe);
  refuseUnknown(given, PROBE_KEYS, 'options', 'an option of probe()', probe);
  const payload = toPayload(given.send);
  const shutdown = booleanOption(given.shutdown, 'options.shutdown', false, probe);
  const timeoutMs = integerOption(given.timeoutMs, 'options.timeoutMs', 1, MAX_MS, 10_000, probe);
  const connectTimeoutMs = integerOption(given.connectTimeoutMs, 'options.connectTimeoutMs', 1, MAX_MS, timeoutMs, probe);

  const socket = net.connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true });
  const observed = observeClose(socket, { side: 'client' });
  let firstByteAt: number | null = null;
  let timedOut = false;
  let connectTimedOut = false;

  // after(), not setTimeout(): a timeout that reports "nothing for N ms" must not fire sooner.
  const connectTimer = after(connectTimeoutMs, () => {
    connectTimedOut = true;
    socket.destroy();
  });
  let timer: Timer | undefined;

  const writes = new WriteLedger(socket);

  socket.once('connect', () => {
    connectTimer.cancel();
    timer = after(timeoutMs, () => {
      timedOut = true;
      socket.destroy();
    });
    const sent = () => {
      if (shutdown) socket.end();
    };
    if (typeof payload === 'number') writeRepeated(writes, payload, sent);
    else {
      if (payload.length > 0) writes.write(payload);
      sent();
    }
  });
  socket.on('data', () => {
    firstByteAt ??= performance.now();
  });
  // The peer ended its side: once ours is done too, close (the half-close kept it open till now).
  socket.once('end', () => {
    writes.look();
    if (socket.writableFinished || !socket.writable) socket.destroy();
    // With the error end() may fail with (a write the peer's reset made fail): destroyed without
    // it, the socket would never emit it, and the verdict would lose the reset.
    else socket.end((error?: Error | null) => socket.destroy(error ?? undefined));
  });

  const observation = await observed;
  connectTimer.cancel();
  timer?.cancel();
  // Every time on the observation's clock.
  const durationMs = observation.timings.closeMs;
  const connectMs = observation.timings.connectMs;
  const firstByteMs = firstByteAt === null ? null : Math.round((firstByteAt - observation.timings.origin) * 1000) / 1000;
  // A reset that arrives before libuv completes the connect is reported as a connect error
  // ECONNRESET: the connection existed, though, and the peer reset it.
  const nodeCode = observation.node.error?.code ?? null;
  const resetWhileConnecting = nodeCode === 'ECONNRESET' || nodeCode === 'EPIPE';
  const connectError = connectMs === null && !resetWhileConnecting ? (connectTimedOut ? 'ETIMEDOUT' : (nodeCode ?? 'ECONNREFUSED')) : null;
  let outcome: ProbeOutcome;
  if (connectError !== null) outcome = 'connect-error';
  else if (observation.peer === 'rst' || observation.peer === 'fin-rst' || observation.peer === 'fin') outcome = observation.peer;
  else if (timedOut) outcome = 'timeout';
  // Ended with no FIN or RST seen from the peer and no timeout: only a local failure does that.
  else outcome = observation.node.error ? 'rst' : 'fin';
  const endMs = observation.timings.peerEndMs;
  return {
    host: endpoint.host,
    port: endpoint.port,
    outcome,
    received: socket.bytesRead,
    // At least what the peer acknowledged: those bytes left, whatever the ledger could not tell.
    sent: Math.max(socket.bytesWritten - observation.bytes.queuedAtClose - writes.failedUnwritten, observation.bytes.acked ?? 0),
    connectError,
    connectMs,
    firstByteMs,
    endMs,
    durationMs,
    observation,
  } as ProbeResult;
}

/** The bytes to send, or for a count, how many `'x'` (writeRepeated()). */
function toPayload(send: unknown): Buffer | number {
  if (send === undefined) return Buffer.alloc(0);
  if (typeof send === 'number') return integerOption(send, 'options.send', 0, MAX_BUFFER, 0, probe);
  if (typeof send === 'string') return Buffer.from(send);
  if (send instanceof Uint8Array) return Buffer.from(send);
  throw invalidArgType('options.send', 'of type number, string or Uint8Array', send, probe);
}

const PIECE = Buffer.alloc(64 * 1024, 'x');

/**
 * Writes `count` bytes of `'x'` a piece at a time, the next once the socket drains, then calls
 * `done`: a count of hundreds of megabytes costs 64 KiB, not a buffer of that size (`--send
 * 300000000` peaked at 325 MB that way, 87 MB this way). Stops, without `done`, once the socket
 * can no longer be written (destroyed at the timeout, or reset).
 */
function writeRepeated(writes: WriteLedger, count: number, done: () => void): void {
  const { socket } = writes;
  let left = count;
  const pump = (): void => {
    while (left > 0) {
      if (socket.destroyed || !socket.writable) return;
      const size = Math.min(left, PIECE.length);
      left -= size;
      if (!writes.write(size === PIECE.length ? PIECE : PIECE.subarray(0, size))) {
        socket.once('drain', pump);
        return;
      }
    }
    done();
  };
  pump();
}

/**
 * The probe's writes, and the bytes of failed ones the kernel never took. Node counts a write in
 * `bytesWritten` when it hands it to libuv; if the write then fails (the peer reset: EPIPE,
 * ECONNRESET) it stays counted, and nothing is left queued for observeClose() to subtract. So the
 * ledger remembers how much of the write in progress libuv still held, as last seen (right after
 * the write, and at the peer's EOF: from then on the probe writes nothing new), and subtracts that
 * if the write fails. The probe writes one piece at a time (the next after 'drain'), so at most
 * one write is in progress.
 */
class WriteLedger {
  /** Bytes of failed writes that had not reached the kernel when last seen. */
  failedUnwritten = 0;
  private current: { unwritten: number } | null = null;

  constructor(readonly socket: net.Socket) {}

  /** socket.write(chunk), tracked. Returns what write() returns. */
  write(chunk: Buffer): boolean {
    const entry = { unwritten: chunk.length };
    this.current = entry;
    const more = this.socket.write(chunk, (error?: Error | null) => {
      if (this.current === entry) this.current = null;
      // A destroy() during the write (the timeout, a read error) fails it too, but then
      // observeClose() counted what libuv still held as queued: only a failure of the write itself.
      if (error && !this.socket.destroyed) this.failedUnwritten += entry.unwritten;
    });
    this.look();
    return more;
  }

  /**
   * Updates the write in progress from libuv's queue. Nothing queued means the kernel took it all,
   * or the write failed at once and is reported on the next tick: the whole write stays counted
   * as unhanded until its callback says which.
   */
  look(): void {
    const entry = this.current;
    const handle = (this.socket as SocketInternals)._handle;
    if (entry === null || !handle) return;
    const queued = queuedWriteBytes(this.socket as SocketInternals, handle);
    if (queued > 0) entry.unwritten = Math.min(entry.unwritten, queued);
  }
}
