// observeClose(): how a connection really ended. Node's events alone cannot say, and what they
// say depends on the Node version: libuv up to 1.51 reads many RSTs as a clean EOF ('end'), 1.52+
// as 'error' ECONNRESET (consuming the kernel's error), and once Node closes the handle the
// kernel's answer is gone. So the kernel is asked (inspectSocket: state, pending error peeked
// without clearing it, queues, TCP counters) at the moments the handle is guaranteed to be alive:
// when Node delivers EOF, when Node reports our FIN done ('finish'), when anything (user code,
// http, Node's own auto-destroy, hardReset) calls destroy(), and right before the real close.
import net from 'node:net';

import { watchRealClose, type CloseWatcher } from '../close-hook.js';
import { closedSocket, invalidArgType } from '../errors.js';
import { inspectHandle, inspectSocket, type SocketInspection } from '../inspect-socket.js';
import { socketKind, type NodeHandle, type SocketInternals } from '../target.js';
import type { TcpStateName } from '../native/layout.js';
import { transportBytesHanded, unwrittenBytes } from '../node-handle.js';
import { unsentAtLingerReset } from '../lingering/native-lingerer.js';
import type { LingerReport } from '../lingering/types.js';
import { choiceOption, optionKeys, optionsObject, refuseUnknown } from './options.js';
import { judge, type CloseSnapshot, type EndKind, type Moments, type NodeView } from './close-verdict.js';

export type { CloseSnapshot, EndKind } from './close-verdict.js';

/** One thing that happened to the socket, in order. */
export interface CloseEvent {
  /** A Node event on the socket (`'connect'`, `'end'`, `'finish'`, `'error'`, `'close'`), or `'destroy'`: a call to destroy(). */
  event: 'connect' | 'end' | 'finish' | 'destroy' | 'error' | 'close';
  /** Milliseconds since the observation started. */
  atMs: number;
  /** The error code for 'error' and an erroring 'destroy'. */
  code?: string;
}

/** How a connection ended, from this side's point of view. See {@link observeClose}. */
export interface CloseObservation {
  /** Which side ended the connection first: the peer (FIN or RST), or this side. */
  initiator: 'peer' | 'local' | 'unknown';
  /**
   * How the peer ended its side, as the kernel saw it: `'fin'` (a clean close), `'rst'` (reset),
   * `'fin-rst'` (FIN, then a reset: the kernel names it EPIPE), or `'none'` (the peer had not ended
   * anything when this side closed).
   */
  peer: EndKind;
  /** How this side ended: `'fin'`, `'rst'`, `'fin-rst'` (end() then a reset), or `'none'` (nothing left to end). */
  local: EndKind;
  /** The reset the kernel recorded ('ECONNRESET', 'EPIPE', 'ECONNREFUSED', …), or null. */
  kernelError: string | null;
  /**
   * True when Node's events made a reset look like a clean end: Node emitted `'end'`, the peer
   * reset the connection (`peer` is `'rst'` or `'fin-rst'`), and Node emitted no reset error.
   * This is about what Node reported, so it varies with the Node version where the wire does not:
   * libuv up to 1.51 (Node <= 22) reads most RSTs that follow data as an EOF (hidden), 1.52+
   * (Node 24, 26) as `'error'` ECONNRESET (not hidden). A FIN then RST is `'end'` on every
   * version, and hidden unless Node wrote after it (EPIPE).
   */
  hiddenReset: boolean;
  /**
   * Whether the kernel could be asked everything: false where the platform cannot peek a pending
   * error without consuming it (macOS, BSD, Windows; see the core's platform table) or without
   * the native binary. Then the verdict rests on Node's events and the TCP state alone, and a
   * reset that Node reported as a clean end cannot be told from a FIN.
   */
  kernelKnows: boolean;
  /** What Node itself reported. */
  node: NodeView;
  /** Byte counts. */
  bytes: CloseBytes;
  /** TCP states: when Node delivered EOF, and at the last look before the socket's descriptor closed. */
  state: { atPeerEnd: TcpStateName | null; atClose: TcpStateName | null };
  /** Milliseconds since the observation started (null: did not happen) and its start as epoch ms. */
  timings: CloseTimings;
  /** Whether this socket opened the connection ('client') or was accepted ('server'). */
  side: 'client' | 'server';
  /** What happened to the socket (Node's events and the destroy() call), in order. */
  events: CloseEvent[];
  /** The kernel's view at each look: at Node's EOF, at 'finish', at destroy(), and right before the descriptor closed. */
  snapshots: CloseSnapshot[];
}

/** The byte counts of a {@link CloseObservation}, from this side's point of view. */
export interface CloseBytes {
  /** Bytes this side read (Node's bytesRead). */
  received: number;
  /** Bytes this side wrote (Node's bytesWritten, including any still queued when it closed). */
  sent: number;
  /**
   * Of `sent`, bytes the peer's kernel acknowledged, per TCP_INFO at the last look that could count
   * them; null if none could. After a lingering close that is the look at the hand-over (the
   * native lingerer counts no bytes), so the figure is a lower bound: what the peer acknowledged
   * later, during the linger, is not in it.
   */
  acked: number | null;
  /**
   * Received bytes nobody read when this side closed (each one made the close an RST): 0 when none
   * were, as after a lingering close the peer's FIN ended (everything it sent was drained); null
   * when unknown: the last look at the kernel failed or could not count them (`inspectSocket()`'s
   * `unreadBytes` null), none was taken at the close, or a lingering close ended otherwise and its
   * report counted none (its 0 does not tell "none" from "not counted").
   */
  unreadAtClose: number | null;
  /** Bytes Node had not yet handed to the kernel when this side closed: they never left. */
  queuedAtClose: number;
}

/**
 * The timings of a {@link CloseObservation}: milliseconds since the observation started (null:
 * did not happen), and its start.
 */
export interface CloseTimings {
  /** `Date.now()` when the observation started: the moment the other times count from, in epoch milliseconds. */
  startedAt: number;
  /**
   * `performance.now()` when the observation started: add it to any time here to compare with
   * your own `performance.now()` readings.
   */
  origin: number;
  /** When the connection was established: 0 if it already was when the observation started, null if never. */
  connectMs: number | null;
  /** When this side learned that the peer ended (EOF, error, or found at destroy). */
  peerEndMs: number | null;
  /** When this side's FIN was handed to the kernel, or its close (RST or FIN) happened. */
  localEndMs: number | null;
  /** When the first error came (an `'error'` event, or destroy() with an error); null if none did. */
  errorMs: number | null;
  /**
   * When the descriptor closed, which ends the observation: Node's `'close'` (in `events`), or,
   * for a connection a lingering close took over, the end of its linger, after Node's `'close'`.
   */
  closeMs: number;
}

/** Options for {@link observeClose}. */
export interface ObserveCloseOptions {
  /**
   * Which side opened the connection; it decides whether the kernel's acknowledged-byte count
   * includes a SYN. Detected from the socket (accepted sockets know their server) when omitted.
   */
  side?: 'client' | 'server' | undefined;
}

type Destroy = (this: net.Socket, error?: Error) => net.Socket;
type Internals = SocketInternals & { server?: unknown; resetAndClosing?: boolean };

// Each observation watches the real close under its own name: watchers are kept by name, and a
// second observer of the same socket (a test's, besides the fault server's) under the shared one
// replaced the first's, which then lost its look at the real close (and a lingering close's end).
let observations = 0;

const SIDES = ['client', 'server'] as const;
type Side = (typeof SIDES)[number];

const OBSERVE_KEYS = optionKeys<ObserveCloseOptions>({ side: true });

/**
 * Watches a socket until it closes and reports how the connection really ended: FIN or RST, from
 * which side, after how many bytes each way, in which TCP state, with timings. It asks the kernel
 * (see {@link inspectSocket}) when Node delivers EOF and just before the socket's handle is
 * closed, whoever closes it, so a reset that Node reported as a clean `'end'` is still seen.
 *
 * It never reads from the socket nor changes its flow; it adds an `'error'` listener (the error
 * is reported in the result instead of being thrown) and wraps this socket's `destroy()` for
 * its lifetime. Call it as soon as you have the socket (before it can end). Resolves on `'close'`.
 *
 * @param socket - A `net.Socket` or `tls.TLSSocket`: connected, connecting, or created to be connected later (`new net.Socket()`, then `connect()`).
 * @param options - {@link ObserveCloseOptions}.
 * @returns A promise of the {@link CloseObservation}.
 * @throws At the call, not as a rejection (the observer must be in place before the close):
 *   `ERR_INVALID_ARG_TYPE` for a non-socket or options of the wrong type, `ERR_INVALID_ARG_VALUE`
 *   for a `side` not named or a key that is no option (`sides`: "did you mean 'side'?"),
 *   `ERR_SOCKCLOSE_CLOSED` for a socket already destroyed.
 * @example
 * ```ts
 * const socket = net.connect(port, '127.0.0.1');
 * const observed = observeClose(socket);
 * socket.resume();
 * const { peer, kernelError, hiddenReset, bytes } = await observed;
 * // peer === 'rst', kernelError === 'ECONNRESET' whatever Node emitted; hiddenReset === true
// where Node said 'end' for it (libuv <= 1.51 mostly does, 1.52+ emits 'error' ECONNRESET).
 * ```
 */
export function observeClose(socket: net.Socket, options?: ObserveCloseOptions): Promise<CloseObservation> {
  // socketKind(): a Proxy whose traps throw (a revoked one) is refused like any non-socket.
  if (socketKind(socket) !== 'socket') throw invalidArgType('socket', 'an instance of net.Socket', socket, observeClose);
  const given = optionsObject(options, 'options', observeClose);
  refuseUnknown(given, OBSERVE_KEYS, 'options', 'an option of observeClose()', observeClose);
  const { side: sideOption } = given;
  const internals = socket as Internals;
  const side = choiceOption(sideOption, 'options.side', SIDES, internals.server ? 'server' : 'client', observeClose);
  // Nothing would ever resolve the promise: say so instead of hanging.
  if (socket.destroyed) throw closedSocket(observeClose);

  const watcher = `observe-close#${++observations}`;
  const startedAt = Date.now();
  const origin = performance.now();
  const since = () => Math.round((performance.now() - origin) * 1000) / 1000;
  const events: CloseEvent[] = [];
  const snapshots: CloseSnapshot[] = [];
  // Not connected yet: connecting, or created (`new net.Socket()`) and to be connected later.
  const pending = socket.connecting || socket.pending;
  const node: NodeView = { connected: !pending, sawEnd: false, error: null, finished: false, destroyedWithoutError: false, nodeReset: false };
  const at: Moments = { end: null, finish: null, destroy: null, error: null };
  let connectMs: number | null = pending ? null : 0;
  let queuedAtClose = 0;

  // A socket already destroyed has had its last look (at destroy()): an 'end' or 'finish' that
  // Node delivers after that (an earlier listener destroyed it, as http's client does) adds nothing.
  const look = (moment: CloseSnapshot['at']) => {
    if (!socket.destroyed) snapshots.push(snapshot(socket, side, moment, since()));
  };
  // The real close may come later than destroy(): close steps (an emulated linger, a lingering
  // close draining input) keep the handle open after it. A watcher looks at the kernel right
  // before the descriptor really closes.
  // The lingering close hands the descriptor to the native lingerer: Node's close is then not the
  // connection's, whose end comes with the linger's report.
  let later: Promise<LingerReport> | null = null;
  const lookAtRealClose: CloseWatcher = (_socket, handle, handedOver) => {
    later = handedOver;
    if (!handedOver) snapshots.push(snapshotOfHandle(internals, handle, side, socket.bytesRead, since()));
  };

  const onConnect = () => {
    connectMs = since();
    node.connected = true;
    events.push({ event: 'connect', atMs: connectMs });
  };
  const onEnd = () => {
    at.end = since();
    node.sawEnd = true;
    events.push({ event: 'end', atMs: at.end });
    look('end');
  };
  const onFinish = () => {
    at.finish = since();
    node.finished = true;
    events.push({ event: 'finish', atMs: at.finish });
    // Whether a FIN really left: Node reports 'finish' after shutdown(2) even on a connection
    // an RST had already closed, where it sends nothing.
    look('finish');
  };
  const onError = (error: Error & { code?: unknown; syscall?: unknown }) => {
    at.error ??= since();
    node.error ??= describeError(error);
    events.push({ event: 'error', atMs: since(), ...(node.error.code ? { code: node.error.code } : {}) });
  };

  // Wrap this socket's destroy(): Node (stream errors, auto-destroy, http) and user code all call
  // it as a method, and the handle is still open when it starts.
  const original = Object.prototype.hasOwnProperty.call(socket, 'destroy') ? (socket.destroy as Destroy) : undefined;
  const destroy = (original ?? (Object.getPrototypeOf(socket) as { destroy: Destroy }).destroy) as Destroy;
  socket.destroy = function observedDestroy(this: net.Socket, error?: Error) {
    if (at.destroy === null && !this.destroyed) {
      at.destroy = since();
      // The write in progress counts by what libuv still holds of it (writableLength counts it
      // whole, the part the kernel took included).
      queuedAtClose = unwrittenBytes(this as SocketInternals);
      node.nodeReset = internals.resetAndClosing === true;
      if (error) {
        at.error ??= at.destroy;
        node.error ??= describeError(error);
      } else {
        node.destroyedWithoutError = true;
      }
      events.push({ event: 'destroy', atMs: at.destroy, ...(error ? { code: describeError(error).code ?? 'ERROR' } : {}) });
      look('destroy');
      // An abortive close (hardReset: linger {1, 0}) closes at once, steps bypassed: nothing later to see.
      const last = snapshots[snapshots.length - 1]!;
      if (!last.abortive && last.inspectError === null) watchRealClose(internals, watcher, lookAtRealClose);
    }
    return destroy.call(this, error);
  } as typeof socket.destroy;
  const observedDestroy = socket.destroy;

  if (pending) socket.once('connect', onConnect);
  socket.once('end', onEnd);
  socket.once('finish', onFinish);
  socket.on('error', onError);

  return new Promise<CloseObservation>((resolve) => {
    socket.once('close', () => {
      const nodeCloseMs = since();
      // The linger's look is of the same socket: its family is the earlier looks' (the handle is gone).
      const family = snapshots.find((s) => s.family !== null)?.family ?? null;
      if (later) void later.then((report) => finish(nodeCloseMs, snapshotOfLinger(report, family, socket.bytesRead, since())));
      else finish(nodeCloseMs, null);
    });
    // `closeMs`: when the descriptor closed (for a lingering close, the linger's end).
    const finish = (nodeCloseMs: number, lingerEnd: CloseSnapshot | null) => {
      if (lingerEnd) snapshots.push(lingerEnd);
      const closeMs = lingerEnd?.atMs ?? nodeCloseMs;
      events.push({ event: 'close', atMs: nodeCloseMs });
      socket.off('connect', onConnect);
      socket.off('end', onEnd);
      socket.off('finish', onFinish);
      // The 'error' listener stays: a late error on a closed socket must not become uncaught.
      // Unwrap only if nobody wrapped destroy() over ours meanwhile.
      if (socket.destroy === observedDestroy) {
        if (original) socket.destroy = original;
        else delete (socket as Partial<net.Socket>).destroy;
      }

      const verdict = judge(snapshots, node, at);
      const atEnd = snapshots.find((s) => s.at === 'end');
      // A lingering close's last look (its report) counts no bytes: the hand-over's look then has
      // the latest count (acknowledgements only grow).
      const lastAcked = [...snapshots].reverse().find((s) => s.kernelBytesAcked !== null);
      const atClose = [...snapshots].reverse().find((s) => s.at === 'final' || s.at === 'destroy');
      resolve({
        initiator: verdict.initiator,
        peer: verdict.peer,
        local: verdict.local,
        kernelError: verdict.kernelError,
        hiddenReset: verdict.hiddenReset,
        kernelKnows: snapshots.length > 0 && snapshots.every((s) => s.inspectError === null && s.pendingErrorKnown),
        node,
        bytes: {
          received: socket.bytesRead,
          sent: socket.bytesWritten,
          acked: ackedData(lastAcked, side, socket.bytesWritten),
          unreadAtClose: atClose?.unreadBytes ?? null,
          queuedAtClose,
        },
        state: { atPeerEnd: atEnd?.state ?? null, atClose: atClose?.state ?? null },
        timings: {
          startedAt,
          origin,
          connectMs,
          peerEndMs: verdict.peerEndMs,
          localEndMs: verdict.localEndMs,
          errorMs: at.error,
          closeMs,
        },
        side,
        events,
        snapshots,
      });
    };
  });
}

/**
 * The end of a connection the native lingerer closed, as a snapshot right before that close: a
 * FIN from the peer ('eof'), its reset ('error'), or our own reset after a timeout, with what of
 * ours that reset discarded where the lingerer looked (our FIN among it if any was unsent).
 */
function snapshotOfLinger(report: LingerReport, family: CloseSnapshot['family'], nodeBytesRead: number, atMs: number): CloseSnapshot {
  const reset = report.closedWith === 'reset';
  // A reset on input left unread is named as such, not as SO_LINGER {1, 0}, which it may also have
  // been (a reset asked for that hit a peer still sending): the report does not tell them apart.
  // After the peer's FIN ('eof') the lingerer had drained everything: 0 is known then. Elsewhere a
  // 0 does not tell "none" from "not counted" (see LingerReport.unreadBytes).
  const unread = report.unreadBytes > 0 ? report.unreadBytes : report.reason === 'eof' ? 0 : null;
  const code = (report.error as { code?: unknown } | null)?.code;
  return {
    at: 'final',
    atMs,
    family,
    state: report.reason === 'eof' || report.reason === 'error' ? 'CLOSE' : null,
    pendingError: report.reason === 'error' && typeof code === 'string' ? code : null,
    pendingErrorKnown: true,
    unreadBytes: unread,
    unsentBytes: reset ? unsentAtLingerReset(report) : null,
    unackedBytes: null,
    closeWouldReset: reset,
    abortive: reset && !(report.unreadBytes > 0),
    kernelBytesReceived: null,
    kernelBytesAcked: null,
    nodeBytesRead,
    peerFinReceived: report.reason === 'eof' ? true : report.reason === 'error' ? false : null,
    finQueued: null,
    inspectError: null,
  };
}

/** The kernel's view now, or a snapshot recording why it could not be read. Never throws. */
function snapshot(socket: net.Socket, side: Side, at: CloseSnapshot['at'], atMs: number): CloseSnapshot {
  try {
    const handle = (socket as SocketInternals)._handle;
    return { at, atMs, ...fromInspection(inspectSocket(socket), handle, side), nodeBytesRead: socket.bytesRead, inspectError: null };
  } catch (error) {
    return unreadable(at, atMs, socket.bytesRead, error);
  }
}

/** The same, through the handle a close step holds open (the socket itself is already destroyed). */
function snapshotOfHandle(socket: SocketInternals, handle: NodeHandle, side: Side, nodeBytesRead: number, atMs: number): CloseSnapshot {
  try {
    return { at: 'final', atMs, ...fromInspection(inspectHandle(socket, handle), handle, side), nodeBytesRead, inspectError: null };
  } catch (error) {
    return unreadable('final', atMs, nodeBytesRead, error);
  }
}

function unreadable(at: CloseSnapshot['at'], atMs: number, nodeBytesRead: number, error: unknown): CloseSnapshot {
  return {
    at,
    atMs,
    family: null,
    state: null,
    pendingError: null,
    pendingErrorKnown: false,
    unreadBytes: null,
    unsentBytes: null,
    unackedBytes: null,
    closeWouldReset: false,
    abortive: false,
    kernelBytesReceived: null,
    kernelBytesAcked: null,
    nodeBytesRead,
    peerFinReceived: null,
    finQueued: null,
    inspectError: errorName(error),
  };
}

function fromInspection(inspection: SocketInspection, handle: NodeHandle | null, side: Side) {
  return {
    family: inspection.family,
    state: inspection.state,
    pendingError: inspection.pendingError?.code ?? null,
    pendingErrorKnown: inspection.pendingErrorKnown,
    unreadBytes: inspection.unreadBytes,
    unsentBytes: inspection.unsentBytes,
    unackedBytes: inspection.unackedBytes,
    closeWouldReset: inspection.closeWouldReset,
    abortive: inspection.linger !== null && inspection.linger.enabled && inspection.linger.seconds === 0 && !inspection.linger.emulated,
    kernelBytesReceived: inspection.tcp?.bytesReceived ?? null,
    kernelBytesAcked: inspection.tcp?.bytesAcked ?? null,
    peerFinReceived: inspection.peerFinReceived,
    finQueued: finQueued(inspection, handle, side),
  };
}

/**
 * Whether our FIN has taken its sequence number (see CloseSnapshot.finQueued): the sequence space
 * the kernel counts (acknowledged, where Linux counts the connecting side's SYN; unacknowledged;
 * unsent) against the bytes the transport handed it. Null where either is unknown, or they
 * differ by anything but the FIN (a failed write counted as handed).
 */
function finQueued(inspection: SocketInspection, handle: NodeHandle | null, side: Side): boolean | null {
  const acked = inspection.tcp?.bytesAcked ?? null;
  const { unackedBytes: unacked, unsentBytes: unsent } = inspection;
  if (handle === null || acked === null || unacked === null || unsent === null) return null;
  const handed = transportBytesHanded(handle);
  if (handed === null) return null;
  const used = acked - (side === 'client' ? 1 : 0) + unacked + unsent;
  return used === handed + 1 ? true : used === handed ? false : null;
}

function errorName(error: unknown): string {
  return String((error as { code?: unknown }).code ?? (error as Error).message);
}

/** Data bytes acknowledged: TCP_INFO counts the connecting side's SYN and an acknowledged FIN. */
function ackedData(last: CloseSnapshot | undefined, side: 'client' | 'server', sent: number): number | null {
  const raw = last?.kernelBytesAcked;
  if (raw === null || raw === undefined) return null;
  return Math.max(0, Math.min(sent, raw - (side === 'client' ? 1 : 0)));
}

function describeError(error: Error & { code?: unknown; syscall?: unknown }): NonNullable<NodeView['error']> {
  return {
    code: typeof error.code === 'string' ? error.code : null,
    syscall: typeof error.syscall === 'string' ? error.syscall : null,
    message: error.message,
  };
}
