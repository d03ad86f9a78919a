// The one place that decides which platform this is. Everything else asks here.
import type os from 'node:os';

/**
 * The platforms sockclose tells apart. `os400` is IBM i (PASE), where Node may say 'aix';
 * `dragonfly` is DragonFly BSD, where Node says 'freebsd'.
 */
export type PlatformName =
  | 'linux'
  | 'darwin'
  | 'freebsd'
  | 'dragonfly'
  | 'openbsd'
  | 'netbsd'
  | 'aix'
  | 'os400'
  | 'win32'
  | 'other';

/** What sockclose knows about the running platform. */
export interface PlatformInfo {
  readonly name: PlatformName;
  /** Whether Node exposes OS socket descriptors here (not on Windows). */
  readonly hasDescriptors: boolean;
  /** Why not, when it does not. */
  readonly noDescriptorsReason: string | null;
}

/**
 * Names the platform from Node's `process.platform` and `os.type()` (both injectable for tests).
 * IBM i (PASE) runs AIX binaries, and its Node reported `process.platform === 'aix'` until Node was
 * built as its own platform there (`'os400'`, nodejs/node PR 46739); `os.type()` (uname) has always
 * said `'OS400'`, so either one names IBM i. DragonFly BSD: Node is built there as gyp's `freebsd`
 * flavour (so `process.platform` says `'freebsd'`, or `'dragonfly'` in a port that renames it),
 * while its compiler defines `__DragonFly__`, not `__FreeBSD__`; uname's `'DragonFly'` tells the
 * two apart, as the addon's build does (its builtFor must match, or the loader refuses it).
 */
export function detectPlatform(platform: string = process.platform, osType?: string): PlatformName {
  switch (platform) {
    case 'linux':
    case 'android':
      return 'linux';
    case 'darwin':
    case 'openbsd':
    case 'netbsd':
    case 'win32':
    case 'os400':
    case 'dragonfly':
      return platform;
  }
  // Only here does uname decide, so only here is `node:os` loaded (issue 11: require('sockclose')
  // loads no module it does not need).
  const type = osType ?? (require('node:os') as typeof os).type();
  if (type === 'OS400') return 'os400';
  if (type === 'DragonFly') return 'dragonfly';
  return platform === 'aix' || platform === 'freebsd' ? platform : 'other';
}

let current: PlatformInfo | undefined;

/** The running platform (computed once). */
export function currentPlatform(): PlatformInfo {
  if (current) return current;
  const name = detectPlatform();
  const hasDescriptors = name !== 'win32';
  current = Object.freeze({
    name,
    hasDescriptors,
    noDescriptorsReason: hasDescriptors
      ? null
      : 'on Windows Node exposes no socket descriptors (handle.fd is always -1), so sockclose has no native layer there',
  });
  return current;
}

/**
 * Whether a libuv version has the AIX / IBM i fix for reset sockets passed between processes
 * (libuv 1.44.2, commit 5ec89b8c5: uv_guess_handle() takes getsockname()'s EINVAL as TCP under
 * `_AIX`, and under `__PASE__` also when fstat() fails first; in Node 18.13.0 and 19.1.0). A version
 * that does not parse counts as not fixed, and so does a prerelease of 1.44.2 (`1.44.2-dev`).
 */
export function libuvHasAixResetFix(uvVersion: string = process.versions.uv ?? '0.0.0'): boolean {
  const [major = 0, minor = 0, patch = 0] = uvVersion.split('.').map((part) => Number.parseInt(part, 10) || 0);
  if (major !== 1) return major > 1;
  // A prerelease comes before its release: `1.44.2-dev` is libuv's tree between 1.44.1 and 1.44.2,
  // where the fix landed, so a build of it may not have it. (`+…` is build metadata, not one.)
  const prerelease = /^[^+]*-/.test(uvVersion);
  return minor > 44 || (minor === 44 && (patch > 2 || (patch === 2 && !prerelease)));
}
