// Whether this process is exposed to the cluster hang of nodejs/node 40724: AIX or IBM i, with a
// libuv older than 1.44.2. Pure, so the tests can ask about other systems.
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

/**
 * Decides exposure from the platform and libuv version (both injectable for tests).
 *
 * Before libuv 1.44.2 a worker cannot type a connection handle whose peer already reset it
 * (getsockname() fails with EINVAL there), never acknowledges the round-robin `newconn`, and the
 * primary never hands that worker another connection.
 */
export function clusterHangExposure(
  platform: PlatformName = currentPlatform().name,
  libuv: string = process.versions.uv ?? 'unknown',
): ClusterHangExposure {
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
