// The guard against the AIX / IBM i cluster hang (nodejs/node 40724, libuv issue 3481).
//
// With round-robin scheduling the primary accepts every connection and passes its handle to a
// worker over IPC, and only puts the worker back in rotation once it acknowledges. On AIX / IBM i
// with libuv < 1.44.2, a connection the peer already reset cannot be typed by the worker
// (getsockname() fails with EINVAL), so the worker never acknowledges: one reset per worker and
// the server stops serving. With SCHED_NONE the workers accept from the shared listening socket
// themselves and no connection handle ever crosses IPC, so there is nothing to lose.
import type { Cluster } from 'node:cluster';

import { clusterStarted, invalidArgType, isOptionsObject, type Caller } from '../errors.js';
import { optionKeys, refuseUnknown } from '../option-keys.js';
import { POLICY_PINNED } from './errors.js';
import { clusterHangExposure, type ClusterHangExposure } from './exposure.js';

/** Options for {@link protectCluster}. */
export interface ProtectClusterOptions {
  /**
   * Apply the protection even where this system is not exposed (for tests, an emulation, or a
   * Node whose libuv you do not trust). Default `false`.
   */
  force?: boolean | undefined;
  /**
   * Also set `NODE_CLUSTER_SCHED_POLICY=none` in `process.env`, which the workers and any process
   * started from here inherit, so a cluster started further down the process tree is protected
   * too. Default `true`.
   */
  env?: boolean | undefined;
}

/** A setting {@link protectCluster} looks after. */
export type ClusterSetting = 'cluster.schedulingPolicy' | 'NODE_CLUSTER_SCHED_POLICY';

/** What happened to one setting. */
export interface ClusterSettingReport {
  /** Which setting: the primary's scheduling policy, or the environment variable children inherit. */
  readonly setting: ClusterSetting;
  /**
   * `'rr'` or `'none'` (the names NODE_CLUSTER_SCHED_POLICY uses); null for an unset variable. Any
   * other value is given as it was found, as a string (a policy number Node does not define,
   * `'undefined'` where other code deleted the property; the variable's own text).
   */
  readonly before: string | null;
  /** Its value once protectCluster() returned, in the same terms as `before`. */
  readonly after: string | null;
  /** Whether protectCluster() changed the value (pinning a policy that was already `'none'` is not a change). */
  readonly changed: boolean;
  /** Why it was changed, or why it was left alone. */
  readonly why: string;
}

/** What {@link protectCluster} found and did. */
export interface ClusterProtectionReport extends ClusterHangExposure {
  /** Whether `{ force: true }` was passed. */
  readonly forced: boolean;
  /**
   * Whether the protection is in place: this system is exposed, `{ force: true }` was passed, or an
   * earlier protectCluster() call in this process applied it (the policy stays pinned for good).
   */
  readonly applied: boolean;
  /** Each setting, changed or not, with the reason. */
  readonly settings: readonly ClusterSettingReport[];
}

/**
 * Marks the getter that pins the policy. A registered symbol, so that every copy of sockclose in the
 * process (two versions in one dependency tree, or a bundled one) recognises another's pin, and the
 * pin is read from the property itself: a pin someone removed (`delete cluster.schedulingPolicy`,
 * or their own `defineProperty`) no longer counts as one.
 */
const PIN = Symbol.for('sockclose.protectCluster.pin');

/** Whether `cluster.schedulingPolicy` is, right now, a protectCluster() pin (from any copy of sockclose). */
function isPinned(cluster: Cluster): boolean {
  const getter = Object.getOwnPropertyDescriptor(cluster, 'schedulingPolicy')?.get as { [PIN]?: unknown } | undefined;
  return getter !== undefined && getter[PIN] === true;
}

/**
 * Makes a cluster immune to the AIX / IBM i reset-connection hang (nodejs/node 40724): call it in
 * the primary before `cluster.setupPrimary()` / `cluster.fork()`.
 *
 * On an exposed system (AIX or IBM i with libuv < 1.44.2, i.e. Node < 18.13.0 / 19.1.0), or with
 * `{ force: true }`, it switches the cluster to `SCHED_NONE` and pins it there: workers accept
 * connections from the shared listening socket themselves, so the primary never passes a
 * connection handle to a worker and a reset connection can never take a worker out of rotation.
 * Later assignments of `cluster.schedulingPolicy` are ignored with a warning
 * (`SOCKCLOSE_CLUSTER_POLICY_PINNED`). It also sets `NODE_CLUSTER_SCHED_POLICY=none` for child
 * processes unless `{ env: false }`. Elsewhere it changes nothing and says why. Once applied, the
 * protection stays: a later call reports it applied (by an earlier call), even without `force`.
 * Both settings are the calling thread's (a worker thread has its own `cluster` module and its own
 * copy of `process.env`): call it in the thread that calls `cluster.fork()`.
 *
 * The cost: with SCHED_NONE the operating system decides which worker accepts, which can be less
 * even than round-robin (Node made round-robin the default on Linux for that reason).
 *
 * @param options - {@link ProtectClusterOptions}.
 * @returns A {@link ClusterProtectionReport}: what was changed, what was not, and why.
 * @throws `ERR_SOCKCLOSE_CLUSTER_STARTED` in a worker, or after `setupPrimary()` / `fork()` (the
 *   policy is frozen then), on every platform so that a misplaced call shows up in development;
 *   `ERR_INVALID_ARG_TYPE` for bad options, `ERR_INVALID_ARG_VALUE` for an option it does not have.
 * @example
 * ```ts
 * import cluster from 'node:cluster';
 * import { protectCluster } from 'sockclose';
 *
 * if (cluster.isPrimary) {
 *   const report = protectCluster();
 *   if (report.applied) console.log('cluster protected:', report.reason);
 *   for (let i = 0; i < 4; i++) cluster.fork();
 * }
 * ```
 */
export function protectCluster(options?: ProtectClusterOptions): ClusterProtectionReport {
  return protect(options, clusterHangExposure(), protectCluster);
}

/**
 * protectCluster() with the exposure decided by the caller.
 * @internal Exported for the tests, which simulate an exposed system.
 */
export function protect(options: unknown, exposure: ClusterHangExposure, caller: Caller = protect): ClusterProtectionReport {
  const { force, env } = readOptions(options, caller);
  const cluster = require('node:cluster') as Cluster;
  checkNotStarted(cluster, caller);

  // An earlier call that applied the protection (exposed, or forced) pinned the policy for good:
  // the protection is in place, so this call reports it applied, whatever its own options say.
  const earlier = isPinned(cluster);
  const applied = exposure.exposed || force || earlier;
  const settings = applied
    ? [pinPolicy(cluster), env ? setEnvironment(earlier) : keepEnvironment('left alone: options.env is false')]
    : [keepPolicy(cluster, exposure), keepEnvironment(notExposed(exposure))];
  return Object.freeze({ ...exposure, forced: force, applied, settings: Object.freeze(settings.map((s) => Object.freeze(s))) });
}

const PROTECT_KEYS = optionKeys<ProtectClusterOptions>({ force: true, env: true });

function readOptions(options: unknown, caller: Caller): { force: boolean; env: boolean } {
  if (options === undefined) return { force: false, env: true };
  if (!isOptionsObject(options)) {
    throw invalidArgType('options', 'of type object', options, caller);
  }
  refuseUnknown(options, PROTECT_KEYS, 'options', 'an option of protectCluster()', caller);
  const { force = false, env = true } = options as { force?: unknown; env?: unknown };
  if (typeof force !== 'boolean') throw invalidArgType('options.force', 'of type boolean', force, caller);
  if (typeof env !== 'boolean') throw invalidArgType('options.env', 'of type boolean', env, caller);
  return { force, env };
}

function checkNotStarted(cluster: Cluster, caller: Caller): void {
  if (!cluster.isPrimary) {
    throw clusterStarted(
      'protectCluster() must run in the cluster primary, before cluster.fork(); this process is a worker, ' +
        "and the primary's scheduling policy decides how connections reach it. Under a process manager's " +
        'cluster mode, start its primary with NODE_CLUSTER_SCHED_POLICY=none instead.',
      caller,
    );
  }
  // setupPrimary() (which fork() calls) fills in settings.exec and freezes the scheduling policy.
  const started = 'exec' in (cluster.settings ?? {}) || Object.keys(cluster.workers ?? {}).length > 0;
  if (started) {
    throw clusterStarted(
      'protectCluster() must run before cluster.setupPrimary() / cluster.fork(): the primary has already ' +
        'frozen its scheduling policy, so changing it now would have no effect.',
      caller,
    );
  }
}

function policyName(cluster: Cluster, value: number): string {
  if (value === cluster.SCHED_NONE) return 'none';
  if (value === cluster.SCHED_RR) return 'rr';
  return String(value);
}

function pinPolicy(cluster: Cluster): ClusterSettingReport {
  const setting = 'cluster.schedulingPolicy';
  const before = policyName(cluster, cluster.schedulingPolicy);
  if (isPinned(cluster)) {
    return { setting, before, after: 'none', changed: false, why: 'already SCHED_NONE: applied and pinned by an earlier protectCluster()' };
  }
  const none = cluster.SCHED_NONE;
  const get = Object.defineProperty(() => none, PIN, { value: true });
  Object.defineProperty(cluster, 'schedulingPolicy', {
    configurable: true,
    enumerable: true,
    get,
    set(value: unknown) {
      if (value === none) return;
      const asked = value === cluster.SCHED_RR ? 'SCHED_RR' : String(value);
      process.emitWarning(
        `cluster.schedulingPolicy stays SCHED_NONE (ignored: ${asked}): sockclose's protectCluster() pinned it, ` +
          'so that no connection handle is passed to workers and a reset connection cannot take one out of rotation',
        { type: 'SockcloseWarning', code: POLICY_PINNED },
      );
    },
  });
  if (before === 'none') {
    return {
      setting,
      before,
      after: 'none',
      changed: false,
      why: 'already SCHED_NONE; now pinned, so code that runs later cannot switch the cluster back to round-robin',
    };
  }
  return {
    setting,
    before,
    after: 'none',
    changed: true,
    why:
      'round-robin passes every accepted connection to a worker over IPC; with SCHED_NONE the workers accept ' +
      'from the shared listening socket themselves, so no connection handle is ever passed (and none can be lost)',
  };
}

function keepPolicy(cluster: Cluster, exposure: ClusterHangExposure): ClusterSettingReport {
  const value = policyName(cluster, cluster.schedulingPolicy);
  return { setting: 'cluster.schedulingPolicy', before: value, after: value, changed: false, why: notExposed(exposure) };
}

function setEnvironment(earlier: boolean): ClusterSettingReport {
  const before = process.env.NODE_CLUSTER_SCHED_POLICY ?? null;
  process.env.NODE_CLUSTER_SCHED_POLICY = 'none';
  const inherited =
    'inherited by the workers and by any process started from here, so a cluster started further down the process tree is protected too';
  let why = inherited;
  if (before === 'none') why = earlier ? `already 'none' (protection applied by an earlier protectCluster()): ${inherited}` : `already 'none': ${inherited}`;
  return { setting: 'NODE_CLUSTER_SCHED_POLICY', before, after: 'none', changed: before !== 'none', why };
}

function keepEnvironment(why: string): ClusterSettingReport {
  const value = process.env.NODE_CLUSTER_SCHED_POLICY ?? null;
  return { setting: 'NODE_CLUSTER_SCHED_POLICY', before: value, after: value, changed: false, why };
}

function notExposed(exposure: ClusterHangExposure): string {
  return `left alone: not exposed (${exposure.reason}); pass { force: true } to apply anyway`;
}
