import { closeHook } from './close-hook-lazy.js';
import { blockingLinger, invalidArgType, isOptionsObject, outOfRange, systemError } from './errors.js';
import { binding, record } from './native/binding.js';
import { lingerKey, markAbortiveLinger } from './linger-marks.js';
import { optionKeys, refuseUnknown } from './option-keys.js';
import { Field, Slot, State } from './native/layout.js';
import { nodeResetInProgress, queuedWriteBytes } from './node-handle.js';
import { platform } from './platform/index.js';
import { checkTarget, liveTcpFd, realSocket, requireNative, resolve, type NodeHandle, type SocketInternals, type SocketTarget } from './target.js';

/**
 * A socket's SO_LINGER setting as sockclose sees it. {@link getLinger} returns it frozen: the two
 * common settings (off, and abortive) are shared objects, so that the call allocates nothing.
 */
export interface LingerSetting {
  /** Whether close() lingers (a timed linger) or resets (`seconds` 0). */
  readonly enabled: boolean;
  /**
   * The linger time; 0 with `enabled` means the next close sends RST. Always 0 when not enabled
   * (Linux remembers the last time set even then, but it has no effect). `Infinity` for a linger
   * without limit, which only other code can set: Linux takes a negative time as "wait forever"
   * (and its getsockopt() reports it as a meaningless number).
   */
  readonly seconds: number;
  /** True when sockclose emulates a timed linger asynchronously instead of the kernel. */
  readonly emulated: boolean;
}

/** Options for {@link setLinger}. */
export interface SetLingerOptions {
  /**
   * Set a positive linger in the kernel, where close() then blocks the calling thread (in Node:
   * the event loop) for up to `seconds` while sent data is unacknowledged. Without it a positive
   * linger on a socket is emulated asynchronously, and on a raw descriptor it is refused.
   */
  blocking?: boolean | undefined;
}

const MAX_SECONDS = 65535;
const SET_LINGER_KEYS = optionKeys<SetLingerOptions>({ blocking: true });
// The native getLinger() result for SO_LINGER {1, 0}: enabled + 2 * seconds.
const ABORTIVE = 1;
const STEP = 'linger';
// Keyed by the connection's transport handle (libuv's TCP handle): the same object whether the
// socket is reached directly, through http2's proxy, or, on a TLS server, as the TLSSocket or as
// the net.Socket under it (one connection, one setting); gone with the connection. With the socket
// whose close step waits: one step per connection, moved when the other socket sets it.
const emulated = new WeakMap<NodeHandle, { seconds: number; socket: SocketInternals }>();
// Until an emulated linger is first set, getLinger() and setLinger() skip the WeakMap.
let everEmulated = false;
// getLinger()'s answers for SO_LINGER off and {1, 0}, the settings nearly every socket has: shared
// and frozen, so the call allocates nothing (a fresh object cost ~15 ns, a tenth of the call).
const LINGER_OFF: LingerSetting = Object.freeze({ enabled: false, seconds: 0, emulated: false });
const LINGER_ABORTIVE: LingerSetting = Object.freeze({ enabled: true, seconds: 0, emulated: false });

/**
 * SO_LINGER as a probe read it, in getLinger()'s form: its shared objects for off and {1, 0}, a
 * fresh frozen one otherwise. Internal (inspectSocket()).
 */
export function nativeLingerSetting(enabled: boolean, seconds: number): LingerSetting {
  if (!enabled) return LINGER_OFF;
  return seconds === 0 ? LINGER_ABORTIVE : Object.freeze({ enabled: true, seconds, emulated: false });
}

/** An emulated linger of `seconds`, in getLinger()'s form (frozen). Internal. */
export function emulatedLingerSetting(seconds: number): LingerSetting {
  return Object.freeze({ enabled: true, seconds, emulated: true });
}

/**
 * Sets SO_LINGER: how the next close of this socket ends the connection.
 *
 * - `false`: the default graceful close (FIN; the kernel keeps delivering queued data).
 * - `0`: abortive: the next close sends RST and leaves no TIME_WAIT (see also {@link hardReset}).
 * - `n > 0`: a timed linger. In the kernel this makes close() block the thread for up to `n`
 *   seconds, so on a Node socket sockclose emulates it instead: when the socket is destroyed, its
 *   handle stays open until the bytes already handed to libuv (and, on TLS, its layer) are written
 *   and the kernel's are acknowledged, or `n` seconds have passed, and only then closes ('close' is
 *   emitted then); at once if the peer resets meanwhile, or an abortive close is asked for
 *   (`resetAndDestroy()`). What Node's stream still buffered (writes behind a full queue, a
 *   `cork()`) is discarded by `destroy()`, as with the kernel's linger: `end()` first to send it.
 *   When the `n` seconds are up the handle closes as a plain close does: what the kernel holds is
 *   still delivered (as after the kernel's linger), but what libuv still held is discarded, and the
 *   peer sees its FIN after a truncated stream, not an RST (`inspectSocket().nodeQueuedBytes` says
 *   how much that is; `hardReset()` instead if the peer must be told).
 *   The event loop never blocks. `{ blocking: true }` sets the kernel option for real.
 *
 * On a listening socket, Linux copies SO_LINGER to every connection accepted afterwards: a
 * listening descriptor with linger 0 makes all of them end with RST (under lingering close, once
 * Node has sent our FIN, only after their linger, at a bound: docs/lingering.md).
 *
 * @param target - A TCP `net.Socket` / `tls.TLSSocket`, or a TCP descriptor number.
 * @param seconds - `false`, or an integer from 0 to 65535; set in the kernel (`blocking`, or a
 *   raw descriptor), at most 327 on macOS and 32767 on the other BSDs and AIX, whose kernels keep
 *   it in 16 bits.
 * @param options - {@link SetLingerOptions}.
 * @throws `ERR_SOCKCLOSE_BLOCKING_LINGER` for `n > 0` on a raw descriptor without `blocking`;
 *   `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for `seconds` or `options` not as above
 *   (`ERR_INVALID_ARG_VALUE` for an option other than `blocking`);
 *   `ERR_INVALID_ARG_TYPE` for a target that is neither a socket nor a number; `ERR_OUT_OF_RANGE`
 *   for a number that is not a descriptor (an integer 0 to 2^31 - 1); `ERR_SOCKCLOSE_CLOSED` once
 *   the socket is destroyed; `ERR_SOCKCLOSE_NO_FD` while it has none (see socketFd);
 *   `ERR_SOCKCLOSE_UNSUPPORTED` without the native binary or on Windows;
 *   `ERR_SOCKCLOSE_NOT_TCP` for AF_UNIX, where linger means nothing, and UDP; a system error: from
 *   getsockopt() for a raw descriptor that is not an open socket (EBADF, ENOTSOCK), otherwise from
 *   setsockopt().
 * @example
 * ```ts
 * setLinger(socket, 0); // this connection will end with RST
 * socket.destroy();
 * ```
 */
export function setLinger(target: SocketTarget, seconds: number | false, options?: SetLingerOptions): void {
  let fd = liveTcpFd(target);
  // The fast path for the common calls: a live TCP net.Socket, SO_LINGER off or abortive (0), no
  // options, and no emulated linger ever set (none to clear). Exactly what the general path below
  // does for them, minus its checks (~130 instructions under callgrind).
  if (fd >= 0 && (seconds === 0 || seconds === false) && options === undefined && !everEmulated) {
    const native = binding();
    if (native !== null) {
      const result = seconds === 0 ? native.lingerAbortive(fd) : native.lingerOff(fd);
      if (result < 0) throw systemError(result, 'setsockopt', setLinger);
      markAbortiveLinger((target as SocketInternals)._handle!, seconds === 0);
      return;
    }
  }
  // Anything else: today's checks in today's order (no target check for a live TCP socket), then
  // the full resolution.
  if (fd < 0) checkTarget(target, setLinger, 'tcp');
  if (seconds !== false) {
    if (typeof seconds !== 'number') throw invalidArgType('seconds', 'of type number or false', seconds, setLinger);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_SECONDS) {
      throw outOfRange('seconds', `an integer >= 0 and <= ${MAX_SECONDS}, or false`, seconds, setLinger);
    }
  }
  // No default `= {}`: it would allocate an object on every call.
  let blocking = false;
  if (options !== undefined) {
    if (!isOptionsObject(options)) throw invalidArgType('options', 'of type object', options, setLinger);
    refuseUnknown(options, SET_LINGER_KEYS, 'options', 'an option of setLinger()', setLinger);
    // Read once: a getter runs at each read.
    const value = options.blocking;
    if (value !== undefined && typeof value !== 'boolean') throw invalidArgType('options.blocking', 'of type boolean', value, setLinger);
    blocking = value === true;
    // Reading the options ran the caller's code (a getter, a Proxy's traps), which may have
    // destroyed the socket: the number read above may name another descriptor by now. Read again
    // (a destroyed socket then takes the full resolution, and its ERR_SOCKCLOSE_CLOSED).
    if (fd >= 0) fd = liveTcpFd(target);
  }
  const emulate = seconds !== false && seconds > 0 && !blocking;

  let native = fd >= 0 ? binding() : null;
  let socket: SocketInternals | null = null;
  let handle: NodeHandle | null = null;
  if (native === null) {
    const resolved = resolve(target, setLinger, 'tcp');
    native = requireNative(setLinger);
    if (emulate && resolved.kind === 'fd') throw blockingLinger(seconds, setLinger);
    fd = resolved.fd;
    if (resolved.kind === 'socket') ({ socket, handle } = resolved);
  } else {
    socket = target as SocketInternals;
    handle = socket._handle;
  }

  const kernelEnabled = seconds !== false && !emulate;
  if (kernelEnabled) checkKernelLinger(seconds as number);
  const result = native.setLinger(fd, kernelEnabled ? (seconds as number) : -1);
  if (result < 0) throw systemError(result, 'setsockopt', setLinger);

  if (socket === null || handle === null) return;
  markAbortiveLinger(handle, kernelEnabled && seconds === 0);
  const key = lingerKey(handle);
  const previous = everEmulated ? emulated.get(key) : undefined;
  const owner = realSocket(socket);
  if (previous !== undefined && (!emulate || previous.socket !== owner)) closeHook().setCloseStep(previous.socket, STEP, null);
  if (emulate) {
    everEmulated = true;
    emulated.set(key, { seconds: seconds as number, socket: owner });
    closeHook().setCloseStep(owner, STEP, (closingSocket, closing) => lingerAsynchronously(closingSocket, closing));
  } else if (previous !== undefined) {
    emulated.delete(key);
  }
}

/** A kernel linger time this platform stores without wrapping (PlatformBehaviour.maxLingerSeconds). */
function checkKernelLinger(seconds: number): void {
  const { maxLingerSeconds, name } = platform();
  if (seconds > maxLingerSeconds) {
    const range = `<= ${maxLingerSeconds} on ${name} when the kernel lingers (its SO_LINGER field holds no more)`;
    throw outOfRange('seconds', range, seconds, setLinger);
  }
}

/**
 * Reads SO_LINGER, or the emulated linger {@link setLinger} set on a Node socket (unless an
 * abortive linger, `{ enabled: true, seconds: 0 }`, was set on its descriptor since: the next close
 * resets then, and that is what is reported).
 *
 * @param target - A TCP `net.Socket` / `tls.TLSSocket`, or a TCP descriptor number.
 * @returns `{ enabled, seconds, emulated }`, frozen; the same object for every socket with linger off,
 *   and for every one with the abortive {1, 0} (the call then allocates nothing).
 * @throws `ERR_SOCKCLOSE_NOT_TCP` for AF_UNIX and UDP; `ERR_SOCKCLOSE_UNSUPPORTED` without the
 *   native binary or on Windows;
 *   `ERR_INVALID_ARG_TYPE` for a target that is neither a socket nor a number; `ERR_OUT_OF_RANGE`
 *   for a number that is not a descriptor (an integer 0 to 2^31 - 1); `ERR_SOCKCLOSE_CLOSED` once
 *   the socket is destroyed; `ERR_SOCKCLOSE_NO_FD` while it has none (see socketFd);
 *   a system error from getsockopt().
 */
export function getLinger(target: SocketTarget): LingerSetting {
  let fd = liveTcpFd(target);
  let native = fd >= 0 ? binding() : null;
  let handle: NodeHandle | null = null;
  if (native === null) {
    const resolved = resolve(target, getLinger, 'tcp');
    native = requireNative(getLinger);
    fd = resolved.fd;
    if (resolved.kind === 'socket') handle = resolved.handle;
  } else if (everEmulated) {
    handle = (target as SocketInternals)._handle;
  }
  const result = native.getLinger(fd);
  if (result < 0) throw systemError(result, 'getsockopt', getLinger);
  const emulatedSeconds = handle !== null && everEmulated ? emulated.get(lingerKey(handle))?.seconds : undefined;
  // {1, 0} on the descriptor (set through it since) overrides the emulated linger: the close then
  // resets at once (lingerAsynchronously), so that is the setting in force.
  if (emulatedSeconds !== undefined && result !== ABORTIVE) return emulatedLingerSetting(emulatedSeconds);
  if (result === ABORTIVE) return LINGER_ABORTIVE;
  // Off: Linux keeps the last time set, and reports it, but it means nothing then.
  if (result % 2 === 0) return LINGER_OFF;
  // Infinity: a linger without limit, which only other code can set (a negative l_linger).
  return Object.freeze({ enabled: true, seconds: result === Infinity ? Infinity : (result - 1) / 2, emulated: false });
}

/**
 * The emulated linger's wait: until nothing is left to acknowledge, or its time is up. It ends at
 * once, as the kernel's linger would, when there is nothing left to deliver to: the connection is
 * gone (reset, or closed), or an abortive close was asked for since (Node's resetAndDestroy(), or
 * SO_LINGER {1, 0} set on the descriptor).
 */
async function lingerAsynchronously(socket: SocketInternals, handle: NodeHandle): Promise<void> {
  const seconds = emulated.get(lingerKey(handle))?.seconds ?? 0;
  // The monotonic clock, as the kernel's linger (jiffies): a step of the wall clock (NTP, a resumed
  // VM) made Date.now()'s wait an hour longer, or nothing. Read only here, once a linger begins
  // (the global's first read loads perf_hooks).
  const clock = globalThis.performance;
  const deadline = clock.now() + seconds * 1000;
  const native = requireNative(setLinger);
  const rules = platform();
  // Poll rather than block: the kernel has no notification for "all acknowledged". Start fast
  // (most closes are done within a round trip) and back off to 50 ms.
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    // resetAndDestroy() during the wait (the socket is destroyed, Node only marks it): reset now.
    if (nodeResetInProgress(socket)) return;
    // No descriptor left: closed under the step (a TLS socket's transport destroyed first makes
    // handle.fd -1, which the binding would refuse with a RangeError), or the probe fails.
    const fd = handle.fd;
    if (!(fd >= 0) || native.probe(fd, Field.queues | Field.linger | Field.tcp) < 0) return;
    if (record[Slot.lingerEnabled] === 1 && record[Slot.lingerSeconds] === 0) return;
    // A reset connection keeps counting what it held: its send queue never drains.
    if (rules.tcpState(record, 'tcp') === State.CLOSE) return;
    // Node's queues (TLS's and the transport's; see queuedWriteBytes()), then the kernel's.
    if (queuedWriteBytes(socket, handle) === 0 && !(record[Slot.sendQueue]! > 0)) return;
    const left = deadline - clock.now();
    if (left <= 0) return;
    // The global timer, not node:timers/promises: that module would load with require('sockclose').
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
  }
}

/** The emulated linger {@link setLinger} set on a socket (by its handle), in seconds, if any. */
export function emulatedLinger(handle: NodeHandle): number | undefined {
  return everEmulated ? emulated.get(lingerKey(handle))?.seconds : undefined;
}
