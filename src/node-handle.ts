// Everything sockclose knows about Node's private socket internals, in one place: libuv handle
// classes and fields (TCP, Pipe, TLSWrap and its parent), the stream and http-parser fields a
// lingering close must touch. src/target.ts builds target resolution on top of it.
//
// Why each internal is needed, measured on Node 20 to 26:
// - The descriptor is only on the handle (`handle.fd`), and for TLS on the TLSWrap's parent.
// - After destroy() while a close step holds the handle open, Node's own read callback
//   (onStreamRead) must never see data: with `nread > 0` on a destroyed stream it builds
//   `new ErrnoException(nread)`, which throws a RangeError and crashes the process. So reads are
//   redirected (`onread`) before anything can be read.
// - A socket paused at destroy() time has libuv not reading: `readStart()` is the only way to
//   drain it once the stream is destroyed.
// - Node's http server parses straight from the handle (`parser.consume()`): while a connection
//   lingers, bytes must go nowhere, not into the parser (a pipelined request would reach the
//   'request' handler). `parser.unconsume()` returns them to `onread`; `parser.remove()` takes the
//   connection off the headers/request-timeout list.
// - Node clears a socket's timer in _destroy(); a deferred close must do it itself (kTimeout).
// - A TLS server's socket is its own once the handshake is done (`_secureEstablished`): the
//   lingering close takes a server's TLSSockets from then on, as 'secureConnection' gives them.
import type http from 'node:http';
import type net from 'node:net';
import type tls from 'node:tls';

import type { Transport } from './platform/behaviour.js';

/** The libuv handle fields sockclose reads (TCP, Pipe, TLSWrap). */
export interface NodeHandle {
  readonly fd: number;
  readonly bytesRead?: number;
  readonly bytesWritten?: number;
  readonly writeQueueSize?: number;
  readonly _parent?: NodeHandle;
  readonly constructor: { readonly name: string };
}

/** A Node socket whose private fields sockclose reads. */
export type SocketInternals = net.Socket & {
  _handle: NodeHandle | null;
  connecting: boolean;
  /** The stream's write state: `writelen` is the write in progress, while `writing` (Node 18–26). */
  _writableState?: { readonly writing?: boolean; readonly writelen?: number };
};

/** The handle fields and methods a drain uses (TCP, Pipe and TLSWrap all have them). */
interface DrainableHandle extends NodeHandle {
  reading?: boolean;
  readStart?: () => number;
  readStop?: () => number;
  onread?: (buffer?: ArrayBuffer) => unknown;
  useUserBuffer?: (buffer: Uint8Array) => void;
}

/** The parts of Node's http parser a drain touches. */
interface HttpParser {
  /** The request being read or answered; null once each was read to its end and answered. */
  incoming?: unknown;
  _consumed?: boolean;
  unconsume?: () => void;
  remove?: () => void;
}

/** What a handle is: a transport, TLS over one, or something else (a JavaScript stream). */
export type HandleKind = Transport | 'tls' | 'other';

// Named once per class: reading `constructor.name` is a native accessor, too slow to pay on every
// call. (Per thread: each worker has its own classes and its own copy of this module.)
const handleKinds = new Map<unknown, HandleKind>();
// The class last looked up, and its kind: a server's closes ask about one class over and over, and
// an identity comparison costs a fraction of the Map's hash lookup (~75 instructions under
// callgrind; the lingering close's hand-over asked four times per connection).
let lastClass: unknown;
let lastKind: HandleKind = 'other';

/** The kind of a handle. */
export function kindOf(handle: NodeHandle | undefined): HandleKind {
  if (!handle) return 'other';
  const constructor = handle.constructor;
  if (constructor === lastClass) return lastKind;
  let kind = handleKinds.get(constructor);
  if (kind === undefined) {
    const name = constructor.name;
    kind = name === 'TCP' ? 'tcp' : name === 'Pipe' ? 'unix' : name === 'TLSWrap' ? 'tls' : 'other';
    handleKinds.set(constructor, kind);
  }
  lastClass = constructor;
  lastKind = kind;
  return kind;
}

// libuv's TCP handle class, learnt from the first TCP handle seen (Node does not export it). The
// fast path (src/target.ts, liveTcpFd) recognises a plain TCP handle by one identity comparison.
let tcpClass: unknown;

/** Whether `handle` is a plain TCP handle (not TLS, not a pipe): one comparison once learnt. */
export function isTcpHandle(handle: NodeHandle): boolean {
  const constructor = handle.constructor;
  if (constructor === tcpClass) return true;
  if (tcpClass !== undefined || kindOf(handle) !== 'tcp') return false;
  // Learnt once and trusted from then on, so only from a real handle: a test double whose class
  // is named TCP would otherwise send every real socket down the slow path for good.
  if (!hasNativeFd(handle)) return false;
  tcpClass = constructor;
  return true;
}

/** Whether `handle.fd` is libuv's native accessor (as on every real stream handle), not a plain field. */
function hasNativeFd(handle: NodeHandle): boolean {
  for (let proto: object | null = handle; proto !== null; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, 'fd');
    if (descriptor) return typeof descriptor.get === 'function' && /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(descriptor.get));
  }
  return false;
}

/** The handle that carries the bytes: a TLSWrap's parent, or the handle itself. */
export function transportHandle(handle: NodeHandle): NodeHandle | undefined {
  return kindOf(handle) === 'tls' ? handle._parent : handle;
}

/**
 * The JavaScript stream a TLSWrap was made over (its `_parentWrap`, Node 18 to 26: a net.Socket
 * given to a TLS server, or Node's wrapper of a JavaScript stream), or null for any other handle.
 */
export function tlsParentStream(handle: NodeHandle): object | null {
  if (kindOf(handle) !== 'tls') return null;
  const parent = (handle as NodeHandle & { _parentWrap?: unknown })._parentWrap;
  return typeof parent === 'object' && parent !== null ? parent : null;
}

/** TCP or AF_UNIX under the handle, or null for anything else (TLS over a JavaScript stream). */
export function transportKind(handle: NodeHandle): Transport | null {
  const kind = kindOf(transportHandle(handle));
  return kind === 'tcp' || kind === 'unix' ? kind : null;
}

/**
 * Bytes the transport has read from the connection (raw bytes, TLS records included), or null
 * when there is no transport handle. The basis of the FIN count (PlatformBehaviour.peerFinReceived).
 */
export function transportBytesRead(handle: NodeHandle): number | null {
  const transport = transportHandle(handle);
  const kind = kindOf(transport);
  if (kind !== 'tcp' && kind !== 'unix') return null;
  // Read once: `bytesRead` is a native accessor (~40 instructions a read).
  const bytesRead = transport!.bytesRead;
  return typeof bytesRead === 'number' ? bytesRead : null;
}

/**
 * Bytes the transport has handed to the kernel (raw bytes, TLS records included): what its writes
 * submitted less what libuv still holds of them; null when there is no transport handle. A write
 * that failed counts as handed (libuv does not say how much of it the kernel took).
 */
export function transportBytesHanded(handle: NodeHandle): number | null {
  const transport = transportHandle(handle);
  const kind = kindOf(transport);
  if (kind !== 'tcp' && kind !== 'unix') return null;
  const { bytesWritten, writeQueueSize } = transport!;
  return typeof bytesWritten === 'number' && typeof writeQueueSize === 'number' ? bytesWritten - writeQueueSize : null;
}

/**
 * Bytes Node holds that are not yet written to the kernel (a raw shutdown(SHUT_WR) before this
 * reaches 0 would cut them off). A TLS socket has two queues, and the TLS layer's contains the
 * transport's: Node's TLSWrap keeps encrypted bytes in its buffer until the transport's write of
 * them completes, so its writeQueueSize counts a write in progress whole (the part the kernel
 * already took included), and the transport's libuv queue holds part of the same bytes. Summed,
 * they counted a 32 MiB write to a peer that does not read as 63 MB. The larger of the two is the
 * closest bound Node exposes.
 */
export function queuedWriteBytes(socket: SocketInternals, handle: NodeHandle): number {
  const transport = transportHandle(handle);
  if (!transport || transport === handle) return handle.writeQueueSize ?? 0;
  // TLS after 'finish': the transport's shutdown completed, so our FIN is out and the TLS layer
  // will never write again. Its writeQueueSize can still count a close_notify (24 bytes) that
  // Node's TLSWrap never wrote: its shutdown went ahead of it (seen with a peer that sent
  // nothing; plain Node sends that peer a FIN without close_notify too). Counted, it held a quiet
  // peer's close in the flush until the idle timeout, then reset it, and delayed the TLSSocket's
  // 'close' until then.
  const own = socket.writableFinished ? 0 : (handle.writeQueueSize ?? 0);
  return Math.max(own, transport.writeQueueSize ?? 0);
}

/**
 * Everything written to the socket that Node has not yet handed to the kernel: its stream buffer
 * and {@link queuedWriteBytes}. The stream counts the write in progress whole until it completes
 * (a 32 MiB write to a peer that does not read: 32 MiB, while libuv's queue holds the 28 MiB the
 * kernel has not taken), so that write is counted once, by the handle. Without a handle (closed),
 * the stream's buffer.
 */
export function unwrittenBytes(socket: SocketInternals, handle: NodeHandle | null = socket._handle): number {
  if (handle === null) return socket.writableLength;
  const state = socket._writableState;
  const inProgress = state?.writing === true ? (state.writelen ?? 0) : 0;
  return Math.max(0, socket.writableLength - inProgress) + queuedWriteBytes(socket, handle);
}

/** Where dropped reads are reported: `end` is true for EOF or a read error. */
export interface ReadSink {
  onRead(end: boolean): void;
}

// What dropped reads land in. Node otherwise allocates a 64 KiB buffer and an ArrayBuffer for
// every read, which doubled the garbage collector's work per connection in
// bench:linger-throughput; with a buffer of ours (Node's `onread: { buffer }` mechanism) nothing
// is allocated. Shared: nobody ever reads what lands there.
const discard = new Uint8Array(64 * 1024);
const dropping = new WeakSet<NodeHandle>();

/**
 * From now on every read on `handle` lands in a shared scratch buffer and is dropped instead of
 * reaching the stream; `sink` is told of each one. Reads into a user buffer report no byte count
 * to JavaScript: a read that grew the handle's own byte count (for TLS: decrypted bytes) brought
 * data, any other is the end (EOF, TLS close_notify, or an error).
 */
export function dropReads(handle: NodeHandle, sink: ReadSink): void {
  dropping.add(handle);
  const drainable = handle as DrainableHandle;
  if (typeof drainable.useUserBuffer === 'function' && typeof drainable.bytesRead === 'number') {
    drainable.useUserBuffer(discard);
    let seen = drainable.bytesRead;
    drainable.onread = () => {
      const now = drainable.bytesRead!;
      const end = now === seen;
      seen = now;
      sink.onRead(end);
      return undefined;
    };
    return;
  }
  drainable.onread = (buffer?: ArrayBuffer) => {
    sink.onRead(buffer === undefined);
    return undefined;
  };
}

const ignore: ReadSink = { onRead() {} };

/** Drops reads on `handle` unless something (a lingering drain) already redirected them. */
export function ensureReadsDropped(handle: NodeHandle): void {
  if (!dropping.has(handle)) dropReads(handle, ignore);
}

/**
 * Whether Node's stream already saw the end of input (EOF or a read error): libuv has stopped
 * reading then, and no further read will report anything.
 */
export function inputEnded(socket: SocketInternals): boolean {
  const state = (socket as SocketInternals & { _readableState?: { ended?: boolean; errored?: unknown } })._readableState;
  return socket.readableEnded || state?.ended === true || (state?.errored ?? null) !== null;
}

/**
 * Whether nobody reads the socket's input: it flows (resume()) into no 'data' or 'readable'
 * listener, and no 'end' listener but Node's own (`onReadableStreamEnd`) waits for the peer's
 * end. What it reads is thrown away. http2's graceful close leaves its sockets so (socket.end()
 * and socket.resume() once the session is done), and so does a net server's `resume(); end()`.
 */
export function inputDiscarded(socket: SocketInternals): boolean {
  if (socket.readableFlowing !== true || socket.listenerCount('data') > 0 || socket.listenerCount('readable') > 0) return false;
  return socket.listeners('end').every((listener) => listener.name === 'onReadableStreamEnd');
}

/**
 * Whether every request an http(s) server socket carried was read to its end and answered, as far
 * as Node's objects tell: the socket has the server's parser, whose `incoming` Node's http server
 * clears (`clearIncoming()`, Node 18 to 26) once a request has ended and its response finished; it
 * stays set while a body is unread (an early 413), a response is under way, or a pipelined request
 * came behind the one answered. Not after a parse error or a request timeout (the client may still
 * be sending), not with input in the socket's buffer, and not while libuv is not reading the
 * handle (paused: input may wait in the kernel). A socket with no parser (not http, or upgraded)
 * is never done here.
 */
export function httpExchangeDone(socket: SocketInternals): boolean {
  const parser = (socket as SocketInternals & { parser?: HttpParser | null }).parser;
  if (!parser || parser.incoming !== null || socket.readableLength !== 0) return false;
  return (socket._handle as DrainableHandle | null)?.reading === true && !httpInputAbandoned(socket);
}

/**
 * Whether Node's http server gave up on `socket`'s input: its 'clientError' came (a parse error, a
 * headers or request timeout), which takes `socketOnError` off the socket's 'error' listeners,
 * while its parser, still attached, is given (and throws away, calling 'clientError' again) all
 * the peer sends (Node 18 to 26). Nothing read from then on is the application's.
 */
export function httpInputAbandoned(socket: SocketInternals): boolean {
  if (!(socket as SocketInternals & { parser?: unknown }).parser) return false;
  return !socket.listeners('error').some((listener) => listener.name === 'socketOnError');
}

/**
 * Whether `socket` is (or was) an http2 session's transport: http2 listens for its 'close' with
 * `socketOnClose` (Node 18 to 26). The application never holds such a socket: it gets a proxy
 * that refuses listeners and end()/destroy().
 */
export function http2Transport(socket: SocketInternals): boolean {
  return socket.listeners('close').some((listener) => listener.name === 'socketOnClose');
}

/**
 * Whether a TLS connection runs over this socket: a `tls.TLSSocket` was made over it (an https
 * server does so with each connection's net.Socket, as does `new tls.TLSSocket(socket)`) and has
 * not been destroyed (that destroys this socket too). Node gives the socket no link to it; what it
 * leaves is the accessor every TLSSocket defines for `reading` on its transport's handle (Node 18
 * to 26, lib/_tls_wrap.js), where a plain handle has a data property.
 */
export function carriesTls(socket: SocketInternals): boolean {
  const handle = socket._handle;
  if (!handle) return false;
  const property = Object.getOwnPropertyDescriptor(handle, 'reading');
  return property !== undefined && typeof property.get === 'function';
}

/** Makes libuv read from the handle (a no-op if it already does): 0, or a negative errno. */
export function startReading(handle: NodeHandle): number {
  const drainable = handle as DrainableHandle;
  if (drainable.reading || typeof drainable.readStart !== 'function') return 0;
  drainable.reading = true;
  return drainable.readStart();
}

/** Makes libuv stop reading from the handle (a no-op if it does not). */
export function stopReading(handle: NodeHandle): void {
  const drainable = handle as DrainableHandle;
  if (!drainable.reading || typeof drainable.readStop !== 'function') return;
  drainable.reading = false;
  drainable.readStop();
}

/** Detaches Node's http parser (if any) from the socket's handle and from the timeout checks. */
export function detachHttpParser(socket: SocketInternals): void {
  const parser = (socket as SocketInternals & { parser?: HttpParser | null }).parser;
  if (!parser) return;
  if (parser._consumed && typeof parser.unconsume === 'function') {
    parser.unconsume();
    parser._consumed = false;
  }
  // Node's freeParser() calls remove() again on close; removing twice is harmless.
  if (typeof parser.remove === 'function') parser.remove();
}

/** Whether a TLSSocket finished its handshake (Node sets it right before 'secure'/'secureConnection'). */
export function tlsHandshakeDone(socket: SocketInternals): boolean {
  return (socket as SocketInternals & { _secureEstablished?: boolean })._secureEstablished === true;
}

/**
 * The server a socket came from and the one serving it: Node's accept sets `server` and `_server`;
 * http overwrites `server` with its own on every socket it is given; a TLSSocket has no `_server`,
 * its tls.Server is in its options.
 */
type ServedSocket = SocketInternals & { server?: net.Server | null; _server?: net.Server | null; _tlsOptions?: { server?: net.Server } };

/** The server serving `socket` now (`socket.server`), if any. */
export function servingServer(socket: net.Socket): net.Server | null {
  return (socket as ServedSocket).server ?? null;
}

/** The server that accepted `socket`, whichever serves it now, if any. */
export function acceptingServer(socket: net.Socket): net.Server | null {
  const served = socket as ServedSocket;
  return served._server ?? served._tlsOptions?.server ?? null;
}

// The servers a socket was given to (`server.emit('connection', socket)`, which sets nothing on
// it), on the socket itself: only given sockets carry it, and it goes with them.
const kGivenTo = Symbol('sockclose.givenTo');
type GivenSocket = net.Socket & { [kGivenTo]?: net.Server[] };
// Until a socket is given, closes skip the lookup: a symbol missing from sockets of many shapes is
// a megamorphic load (bench:audit, audited: 56,722 and 57,873 instructions per connection with it
// on every close, 56,197 and 56,959 before; 56,937 with this flag).
let anyGiven = false;

/**
 * Records that `server` was given `socket` without accepting it, after the server serving it then
 * (`socket.server`: the one that accepted it, or an http server given it since, which sets it), so
 * that the list stays in the order the socket went: its last entry is the server holding it now
 * unless an http server took it after (see {@link givenTo}).
 */
export function markGiven(socket: net.Socket, server: net.Server): void {
  anyGiven = true;
  const given = socket as GivenSocket;
  const servers = (given[kGivenTo] ??= []);
  const had = servingServer(socket);
  if (had !== null && had !== server && servers[servers.length - 1] !== had) moveLast(servers, had);
  moveLast(servers, server);
}

function moveLast(servers: net.Server[], server: net.Server): void {
  const at = servers.indexOf(server);
  if (at >= 0) servers.splice(at, 1);
  servers.push(server);
}

/**
 * The servers `socket` went through by being given (see markGiven()), oldest first, if any. While
 * `socket.server` is among them, no http server took the socket since its last give: the last one
 * holds it.
 */
export function givenTo(socket: net.Socket): readonly net.Server[] | undefined {
  return anyGiven ? (socket as GivenSocket)[kGivenTo] : undefined;
}

/**
 * How a server's sockets are found at their close: `'http'` servers set `socket.server` to
 * themselves on every socket they serve, given ones too; `'tls'` servers close TLSSockets made
 * with their `server` set (never the raw sockets under them); a plain `'net'` server sets nothing
 * on the sockets it is given (a 'connection' listener has to mark them).
 */
export type ServerKind = 'net' | 'http' | 'tls';

/** `server`'s {@link ServerKind}. */
export function serverKind(server: net.Server): ServerKind {
  // Loaded here, not with the module: tls brings all of crypto, http its parser.
  const { Server: TlsServer } = require('node:tls') as typeof tls;
  if (server instanceof TlsServer) return 'tls';
  const { Server: HttpServer } = require('node:http') as typeof http;
  return server instanceof HttpServer ? 'http' : 'net';
}

/** Whether Node's own resetAndDestroy() is closing this socket (then it must reset, not linger). */
export function nodeResetInProgress(socket: SocketInternals): boolean {
  return (socket as SocketInternals & { resetAndClosing?: boolean }).resetAndClosing === true;
}

/**
 * Makes the resetAndDestroy() under way close the handle as destroy() does (the caller has set
 * SO_LINGER {1, 0}, so that close is the reset). For a socket whose shutdown libuv still holds
 * (end() called, our FIN not yet handed to the kernel), where Node's reset (uv_tcp_close_reset())
 * fails with EINVAL and Node then drops the handle without closing it: the descriptor leaks and
 * 'close' never comes.
 */
export function resetThroughClose(socket: SocketInternals): void {
  (socket as SocketInternals & { resetAndClosing?: boolean }).resetAndClosing = false;
}

/**
 * Clears the socket's inactivity timer (and its TLS parent's), as Node's _destroy() does: a close
 * deferred past destroy() must not let 'timeout' reach handlers of a connection that is closing.
 * setTimeout(0) cannot: it does nothing on a destroyed socket.
 */
export function clearSocketTimer(socket: SocketInternals): void {
  for (let s: unknown = socket; s; s = (s as { _parent?: unknown })._parent) {
    const key = timeoutSymbol(s as object);
    if (key) clearTimeout((s as Record<symbol, NodeJS.Timeout | undefined>)[key]);
  }
}

// Node's private `kTimeout` symbol: one per process, so found once (listing a socket's symbols on
// every close is what costs) and then only checked.
let kTimeout: symbol | undefined;

function timeoutSymbol(socket: object): symbol | undefined {
  if (kTimeout !== undefined && kTimeout in socket) return kTimeout;
  const found = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'timeout');
  if (found) kTimeout = found;
  return found;
}
