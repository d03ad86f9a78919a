// A CPU quota for one process, through a cgroup of its own (cgroup v2 where its cpu controller can
// be enabled, else v1's cpu hierarchy): bench:linger-throughput gives each server a share of its
// core, so that the server, not the load generator, is the limit on a machine with two cores
// (wrk costs more per request than the plain server does: it could never saturate it).
// Needs write access to the cgroup tree (root, or a delegated subtree); without it, says why.
import fs from 'node:fs';
import path from 'node:path';

const PERIOD_US = 100_000;

/** Where a cgroup with a cpu quota can be made here, or a reason why not. */
function hierarchy() {
  const v2 = '/sys/fs/cgroup';
  try {
    if (fs.readFileSync(path.join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')) {
      return { kind: 'v2', root: v2 };
    }
  } catch {
    // not a v2 root: look for v1's cpu hierarchy
  }
  const v1 = '/sys/fs/cgroup/cpu';
  if (fs.existsSync(path.join(v1, 'cpu.cfs_quota_us'))) return { kind: 'v1', root: v1 };
  return { reason: 'no cgroup cpu controller (v2 cpu controller or v1 cpu hierarchy) found under /sys/fs/cgroup' };
}

/**
 * Limits `pid` (all its threads) to `share` of one core. Returns `{ kind, throttled(), release() }`,
 * or `{ reason }`.
 */
export function limitCpu(pid, share, name) {
  const where = hierarchy();
  if (where.reason) return where;
  const dir = path.join(where.root, `sockclose-bench-${name}-${process.pid}`);
  try {
    if (where.kind === 'v2') fs.writeFileSync(path.join(where.root, 'cgroup.subtree_control'), '+cpu');
    fs.mkdirSync(dir);
    const quota = String(Math.round(share * PERIOD_US));
    if (where.kind === 'v2') {
      fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    } else {
      fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), quota);
    }
    fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
  } catch (error) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // never made
    }
    return { reason: `cannot make a cgroup with a cpu quota (${where.kind}, ${dir}): ${error.code ?? error.message}` };
  }
  return {
    kind: where.kind,
    /** Times the quota held the process back so far (cpu.stat nr_throttled). */
    throttled() {
      const stat = fs.readFileSync(path.join(dir, 'cpu.stat'), 'utf8');
      return Number(/nr_throttled (\d+)/.exec(stat)?.[1] ?? NaN);
    },
    /** Removes the cgroup: call once the process has exited (and been reaped). */
    release() {
      try {
        fs.rmdirSync(dir);
      } catch (error) {
        console.error(`bench: could not remove ${dir} (${error.code ?? error.message}): rmdir it by hand`);
      }
    },
  };
}
