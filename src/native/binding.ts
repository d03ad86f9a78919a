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
  lingerStart(
    fd: number,
    token: number,
    group: number,
    flags: number,
    idleMs: number,
    leftMs: number,
    maxDrainBytes: number,
    drainedBytes: number,
    elapsedMs: number,
    idleSpentMs: number,
    readBytes: number,
    writtenBytes: number,
  ): number;
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
const ABI = 11;

// What to do about a binary older or newer than this JavaScript, in a checkout and in an install.
const STALE = 'a stale build? run npm run build in a checkout, npm rebuild sockclose (or delete build/) in an installed package';

interface LoadResult {
  binding: Binding | null;
  reason: string | null;
  file: string | null;
  /** A local build passed over for the prebuild: which file and why. */
  skipped: string | null;
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

/**
 * The local build (build/Release or build/Debug) that could not be used and why, as
 * `<file>: <problem>`, when the prebuild was loaded in its place; otherwise null.
 */
export function skippedBinary(): string | null {
  return (loaded ??= load()).skipped;
}

/** node-gyp-build's path(), and the helpers of its prebuild lookup it exports (for its own tests). */
interface NodeGypBuild {
  path(dir: string): string;
  parseTuple(name: string): { name: string } | undefined;
  matchTuple(platform: string, arch: string): (tuple: { name: string } | undefined) => boolean;
  compareTuples(a: { name: string }, b: { name: string }): number;
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string): (tags: { file: string } | undefined) => boolean;
  compareTags(runtime: string): (a: { file: string }, b: { file: string }) => number;
}

function load(): LoadResult {
  const platform = currentPlatform();
  if (!platform.hasDescriptors) {
    return { binding: null, reason: platform.noDescriptorsReason, file: null, skipped: null };
  }
  const found = find(platform.name);
  // A Unix native/ has no sys_*.cc layer for (illumos, Solaris, Haiku, …): binding.gyp builds
  // nothing there, so the reason is that, not "no prebuild for sunos-x64" or a foreign binary.
  if (found.binding === null && platform.name === 'other') {
    const covered = "sockclose's native code covers Linux, macOS, FreeBSD, DragonFly, OpenBSD, NetBSD, AIX and IBM i";
    return { ...found, reason: `no native layer for ${process.platform}: ${covered} (${found.reason})` };
  }
  return found;
}

/** The binary for `platformName`: SOCKCLOSE_BINARY's, the local build, else the prebuild. */
function find(platformName: string): LoadResult {
  // SOCKCLOSE_BINARY names one exact binary (how the test suite runs against the cmake-js and
  // sanitizer builds): that one or none, never another in its place.
  const explicit = process.env.SOCKCLOSE_BINARY;
  if (explicit) {
    const file = path.resolve(explicit);
    const opened = open(file, platformName);
    return { binding: opened.binding, reason: opened.problem && `no usable native binary (${opened.problem})`, file, skipped: null };
  }
  let nodeGypBuild: NodeGypBuild;
  let file: string;
  // node-gyp-build's own override of the package directory, which its path() honours too.
  const dir = path.resolve(process.env.SOCKCLOSE_PREBUILD || path.join(__dirname, '..', '..'));
  try {
    nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
    // build/Release (or build/Debug) if it holds a .node file, else prebuilds/<platform>-<arch>.
    file = nodeGypBuild.path(dir);
  } catch (error) {
    return { binding: null, reason: `no usable native binary (${firstLine(error)})`, file: null, skipped: null };
  }
  const first = open(file, platformName);
  if (first.binding || !file.startsWith(path.join(dir, 'build') + path.sep)) {
    return { binding: first.binding, reason: first.problem && `no usable native binary (${first.problem})`, file, skipped: null };
  }
  // node-gyp-build offers the local build alone, so an interrupted, stale or foreign build there
  // would leave the package without its native layer though the prebuild for this machine ships
  // beside it.
  let prebuild: string | null = null;
  let noPrebuild = `no prebuild for ${process.platform}-${process.arch} either`;
  try {
    prebuild = prebuildIn(nodeGypBuild, dir);
  } catch (error) {
    noPrebuild = `no prebuild found (${firstLine(error)})`;
  }
  if (prebuild === null) return { binding: null, reason: `no usable native binary (${first.problem}; ${noPrebuild})`, file, skipped: null };
  const second = open(prebuild, platformName);
  if (second.binding) return { binding: second.binding, reason: null, file: prebuild, skipped: first.problem };
  return { binding: null, reason: `no usable native binary (${first.problem}; nor the prebuild: ${second.problem})`, file, skipped: null };
}

/** Loads `file` as the addon for `platformName`, or says why it cannot be used (`<file>: <why>`). */
function open(file: string, platformName: string): { binding: Binding; problem: null } | { binding: null; problem: string } {
  try {
    // Loaded here, with the binary: require('sockclose') itself stays as small as it was.
    const { elfProblem } = require('./elf-check.js') as typeof import('./elf-check.js');
    const problem = elfProblem(file);
    if (problem) return { binding: null, problem: `${file}: ${problem}` };
    // Its own instance of the addon (record, lingerer, report sink) for each copy of this module:
    // require() would give every copy that loads the same file one shared exports object, and the
    // last copy to attach its record or its report sink would take them from the others.
    const instance = { exports: {} as Binding };
    process.dlopen(instance, file);
    const candidate = instance.exports;
    const mismatch = checkBinding(candidate, platformName);
    if (mismatch) return { binding: null, problem: `${file}: ${mismatch}` };
    candidate.attach(record);
    // A copy: V8 keeps an addon's exports object in dictionary mode, so every \`native.getLinger\`
    // read on it was a hash lookup (~75 instructions per call under callgrind); a plain object's
    // properties are read inline.
    return { binding: { ...candidate }, problem: null };
  } catch (error) {
    // dlopen()'s message names the file already.
    const message = firstLine(error);
    return { binding: null, problem: message.includes(file) ? message : `${file}: ${message}` };
  }
}

/**
 * The prebuild node-gyp-build would pick when there is no local build: in `dir`/prebuilds, else
 * beside the Node executable; null if none fits. Its helpers do the matching (platform, arch,
 * libc, armv, uv, runtime tags), so both choose alike.
 */
function prebuildIn(nodeGypBuild: NodeGypBuild, dir: string): string | null {
  const { parseTuple, matchTuple, compareTuples, parseTags, matchTags, compareTags } = nodeGypBuild;
  // The values node-gyp-build reads itself (npm_config_* as set by npm scripts and cross builds).
  const platform = process.env.npm_config_platform || process.platform;
  const arch = process.env.npm_config_arch || process.arch;
  const runtime = process.versions.electron || process.env.ELECTRON_RUN_AS_NODE ? 'electron' : process.versions.nw ? 'node-webkit' : 'node';
  const abi = process.versions.modules;
  const { readdirSync } = require('node:fs') as typeof import('node:fs');
  const list = (folder: string): string[] => {
    try {
      return readdirSync(folder);
    } catch {
      return [];
    }
  };
  for (const base of [dir, path.dirname(process.execPath)]) {
    const prebuilds = path.join(base, 'prebuilds');
    const tuple = list(prebuilds)
      .map((name) => parseTuple(name))
      .filter(matchTuple(platform, arch))
      .sort((a, b) => compareTuples(a!, b!))[0];
    if (!tuple) continue;
    const winner = list(path.join(prebuilds, tuple.name))
      .map((name) => parseTags(name))
      .filter(matchTags(runtime, abi))
      .sort((a, b) => compareTags(runtime)(a!, b!))[0];
    if (winner) return path.join(prebuilds, tuple.name, winner.file);
  }
  return null;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).trim().split('\n')[0]!;
}

/** Why `candidate` cannot serve `platformName` (a PlatformName), or null when it can. Exported for tests. */
export function checkBinding(candidate: Pick<Binding, 'abi' | 'slots' | 'builtFor'>, platformName: string): string | null {
  if (candidate.abi !== ABI) {
    return `interface version ${String(candidate.abi)}, expected ${ABI} (${STALE})`;
  }
  if (candidate.slots.join() !== SLOT_NAMES.join()) {
    return `probe layout differs from this JavaScript (${STALE})`;
  }
  if (candidate.builtFor !== platformName) {
    return `built for ${candidate.builtFor}, running on ${platformName}`;
  }
  return null;
}
