// Loads the addon once, on first use, and never throws: without a usable binary sockclose runs in
// JavaScript-only mode and the functions that need the binary throw ERR_SOCKCLOSE_UNSUPPORTED with
// the reason recorded here.
import path from 'node:path';

import { currentPlatform } from '../platform/detect.js';
import { SLOT_NAMES } from './layout.js';

/** The functions native/addon.cc exports. Results are >= 0, or -errno. */
export interface Binding {
  readonly abi: number;
  readonly builtFor: string;
  readonly slots: readonly string[];
  attach(record: Float64Array): void;
  probe(fd: number, fields: number): number;
  /** SO_LINGER on with `seconds` (>= 0), or off (-1). */
  setLinger(fd: number, seconds: number): number;
  /** setLinger(fd, -1) with one argument (the fast path's): 0 or -errno. */
  lingerOff(fd: number): number;
  /** setLinger(fd, 0) with one argument: SO_LINGER {1, 0}, 0 or -errno. */
  lingerAbortive(fd: number): number;
  /** Records `fd` as handed to JavaScript, for every thread (native/handed_out.h): 0 or -errno. */
  handedOut(fd: number): number;
  /** 1 if a number recorded by handedOut() in any thread still names the same socket, else 0. */
  handedOutHeld(fd: number): number;
  /** seconds * 2 + (enabled ? 1 : 0), Infinity for a linger without limit, or -errno */
  getLinger(fd: number): number;
  /** pending errno (0 if none), or -errno of getsockopt itself */
  takeError(fd: number): number;
  /**
   * poll() events as Revents bits, or -errno. For a descriptor known to be a socket (a live Node
   * TCP handle's): unlike probe() it does not prove that first.
   */
  pollRevents(fd: number): number;
  /**
   * ResetHint bits (abortive linger 1, unread bytes 2; if either, the TCP state << 8), 0 for
   * neither, or -errno. For a descriptor known to be a socket, like pollRevents().
   */
  resetHints(fd: number): number;
  shutdownWrite(fd: number): number;
  close(fd: number): number;
  /**
   * Hands a connection to the native lingerer (native/lingerer.h): 0 (lingering), 1 (SO_LINGER
   * {1, 0} is set: nothing taken, the caller's close must reset), -errno (dup() failed: nothing
   * taken) or -65536 - errno (the poller's own call, `lingerPrepareCall`, failed: nothing taken).
   */
  lingerStart(fd: number, token: number, group: number, flags: number, idleMs: number, leftMs: number, maxDrainBytes: number, drainedBytes: number, elapsedMs: number): number;
  /** Names the function that receives finished lingers, 7 numbers each (native/lingerer_api.cc). */
  lingerSink(sink: (reports: Float64Array) => void): void;
  /** Connections the native lingerer holds now. */
  lingerCount(): number;
  /** Ends the linger of `token` now (native/lingerer.h Cut()): 1 if it was running, else 0. */
  lingerCut(token: number): number;
  /** Ends every linger of `group` (a pool's id) now: how many there were. */
  lingerCutGroup(group: number): number;
  /** The call readying the lingerer's poller can make that can fail ('epoll_create1'), or ''. */
  lingerPrepareCall: string;
}

/** The interface version this TypeScript expects (native/addon.cc's kAbi). */
const ABI = 9;

interface LoadResult {
  binding: Binding | null;
  reason: string | null;
  file: string | null;
}

let loaded: LoadResult | undefined;

/**
 * The record probe() fills, shared by every call on this thread. Read it right after the call that
 * filled it: the next probe overwrites it. Backed by an ArrayBuffer so its memory never moves.
 */
export const record = new Float64Array(new ArrayBuffer(SLOT_NAMES.length * Float64Array.BYTES_PER_ELEMENT));

/** The addon, or null in JavaScript-only mode. */
export function binding(): Binding | null {
  return (loaded ??= load()).binding;
}

/** Why there is no addon (null when there is one). */
export function unavailableReason(): string | null {
  return (loaded ??= load()).reason;
}

/** The file the addon was loaded from. */
export function bindingFile(): string | null {
  return (loaded ??= load()).file;
}

function load(): LoadResult {
  const platform = currentPlatform();
  if (!platform.hasDescriptors) {
    return { binding: null, reason: platform.noDescriptorsReason, file: null };
  }
  let file: string | null = null;
  try {
    // SOCKCLOSE_BINARY names one exact binary (how the test suite runs against the cmake-js and
    // sanitizer builds); otherwise node-gyp-build picks build/Release, then prebuilds/<platform>-<arch>.
    const explicit = process.env.SOCKCLOSE_BINARY;
    if (explicit) {
      file = path.resolve(explicit);
    } else {
      const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
      file = nodeGypBuild.path(path.join(__dirname, '..', '..'));
    }
    // Loaded here, with the binary: require('sockclose') itself stays as small as it was.
    const { elfProblem } = require('./elf-check.js') as typeof import('./elf-check.js');
    const problem = elfProblem(file);
    if (problem) return { binding: null, reason: `no usable native binary (${file}: ${problem})`, file };
    // Its own instance of the addon (record, lingerer, report sink) for each copy of this module:
    // require() would give every copy that loads the same file one shared exports object, and the
    // last copy to attach its record or its report sink would take them from the others.
    const instance = { exports: {} as Binding };
    process.dlopen(instance, file);
    const candidate = instance.exports;
    const mismatch = checkBinding(candidate, platform.name);
    if (mismatch) return { binding: null, reason: `${file}: ${mismatch}`, file };
    candidate.attach(record);
    return { binding: candidate, reason: null, file };
  } catch (error) {
    const message = (error as Error).message.trim().split('\n')[0];
    return { binding: null, reason: `no usable native binary (${message})`, file };
  }
}

/** Why `candidate` cannot serve `platformName` (a PlatformName), or null when it can. Exported for tests. */
export function checkBinding(candidate: Pick<Binding, 'abi' | 'slots' | 'builtFor'>, platformName: string): string | null {
  if (candidate.abi !== ABI) {
    return `interface version ${String(candidate.abi)}, expected ${ABI} (a stale build? run npm run build)`;
  }
  if (candidate.slots.join() !== SLOT_NAMES.join()) {
    return 'probe layout differs from this JavaScript (a stale build? run npm run build)';
  }
  if (candidate.builtFor !== platformName) {
    return `built for ${candidate.builtFor}, running on ${platformName}`;
  }
  return null;
}
