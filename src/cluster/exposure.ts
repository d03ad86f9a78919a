// Whether this process is exposed to the cluster hang of nodejs/node 40724: AIX or IBM i, with a
// libuv older than 1.44.2. Pure, so the tests can ask about other systems.
import { invalidArgType, invalidArgValue } from '../errors.js';
import { currentPlatform, libuvHasAixResetFix, type PlatformName } from '../platform/index.js';

/** Whether the running system can hit the AIX / IBM i cluster hang, and why (or why not). */
export interface ClusterHangExposure {
  /** The platform it was decided for (`'aix'` and `'os400'`, IBM i, are the only ones ever exposed). */
  readonly platform: PlatformName;
  /** `process.versions.uv` as read. */
  readonly libuv: string;
  /** True on AIX or IBM i with a libuv older than 1.44.2: protectCluster() then applies SCHED_NONE. */
  readonly exposed: boolean;
  /** One sentence a person can act on. */
  readonly reason: string;
}

const LABELS: Partial<Record<PlatformName, string>> = { aix: 'AIX', os400: 'IBM i' };

/** Every {@link PlatformName} (a Record, so that the compiler says when one is missing here). */
const PLATFORMS: Readonly<Record<PlatformName, true>> = {
  linux: true,
  darwin: true,
  freebsd: true,
  dragonfly: true,
  openbsd: true,
  netbsd: true,
  aix: true,
  os400: true,
  win32: true,
  other: true,
};
const PLATFORM_NAMES = Object.keys(PLATFORMS);

/** A libuv version as `process.versions.uv` gives it: `major.minor.patch`, maybe with a `-suffix`. */
const LIBUV_VERSION = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

/**
 * Decides exposure from the platform and libuv version (both injectable for tests).
 *
 * Before libuv 1.44.2 a worker cannot type a connection handle whose peer already reset it
 * (getsockname() fails with EINVAL there), never acknowledges the round-robin `newconn`, and the
 * primary never hands that worker another connection.
 *
 * @param platform - A {@link PlatformName} (default: this platform, as `capabilities().platform`
 *   names it). A raw `process.platform` value that is not one (`'sunos'`, `'android'`, …) is
 *   refused: pass `'other'`, or leave it out.
 * @param libuv - A libuv version, `major.minor.patch` as `process.versions.uv` gives it
 *   (default: that one).
 * @throws `ERR_INVALID_ARG_TYPE` when `platform` or `libuv` is given but is not a string;
 *   `ERR_INVALID_ARG_VALUE` for a platform that is not a {@link PlatformName} or a version that is
 *   not `major.minor.patch`.
 */
export function clusterHangExposure(platform?: PlatformName, libuv?: string): ClusterHangExposure {
  if (platform === undefined) platform = currentPlatform().name;
  else if (typeof platform !== 'string') throw invalidArgType('platform', 'of type string', platform, clusterHangExposure);
  else if (!Object.hasOwn(PLATFORMS, platform)) {
    throw invalidArgValue('platform', platform, `must be one of ${PLATFORM_NAMES.map((name) => `'${name}'`).join(', ')}`, clusterHangExposure);
  }
  if (libuv === undefined) libuv = process.versions.uv ?? 'unknown';
  else if (typeof libuv !== 'string') throw invalidArgType('libuv', 'of type string', libuv, clusterHangExposure);
  else if (!LIBUV_VERSION.test(libuv)) {
    throw invalidArgValue('libuv', libuv, "must be a version such as '1.44.2' (major.minor.patch)", clusterHangExposure);
  }

  const label = LABELS[platform];
  if (label === undefined) {
    const reason = `${platform}: the reset-connection cluster hang (nodejs/node 40724) only happens on AIX and IBM i`;
    return { platform, libuv, exposed: false, reason };
  }
  if (libuvHasAixResetFix(libuv)) {
    const reason = `${label} with libuv ${libuv} (>= 1.44.2): a reset connection passed to a worker is typed as TCP`;
    return { platform, libuv, exposed: false, reason };
  }
  const reason =
    `${label} with libuv ${libuv} (< 1.44.2, Node < 18.13.0 / 19.1.0): a connection reset by its peer ` +
    'cannot be passed to a worker, and each one takes a worker out of the round-robin rotation (nodejs/node 40724)';
  return { platform, libuv, exposed: true, reason };
}
