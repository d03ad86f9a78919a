// A CPU quota for one process, through a cgroup of its own (cgroup v2 where its cpu controller can
// be enabled, else v1's cpu hierarchy): bench:linger-throughput gives each server a share of its
// core, so that the server, not the load generator, is the limit on a machine with two cores
// (wrk costs more per request than the plain server does: it could never saturate it).
// Needs write access to the cgroup tree (root, or a delegated subtree); without it, says why.
import fs from 'node:fs';
import path from 'node:path';

const PERIOD_US = 100_000;

// The cgroups made and not yet removed, each with its removal: run at exit and before a
// terminating signal (Ctrl-C) ends the bench, or a bench that failed or was interrupted left them
// under /sys/fs/cgroup (none of the removals in its normal course ran).
const made = new Map();
let hooked = false;

function removeAll() {
  for (const remove of made.values()) remove();
}

function removeOnEnd() {
  if (hooked) return;
  hooked = true;
  process.on('exit', removeAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      removeAll();
      // Listener gone: the signal now ends the bench as it would have.
      process.kill(process.pid, signal);
    });
  }
}

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

/** Whether a process with this pid exists (EPERM: it does, someone else's). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Removes the cgroups of earlier benches that could not remove their own (SIGKILL, a crash of
 * node itself): named for a bench process that no longer exists. Once per bench.
 */
let swept = false;
function sweepAbandoned(root) {
  if (swept) return;
  swept = true;
  let names = [];
  try {
    names = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const owner = /^sockclose-bench-.+-(\d+)$/.exec(name);
    if (owner === null || Number(owner[1]) === process.pid || alive(Number(owner[1]))) continue;
    emptyAndRemove(root, path.join(root, name));
  }
}

// How long a removal waits for tasks that are exiting to leave the cgroup (see emptyAndRemove).
const EXITING_WAIT_MS = 2000;
const EXITING_STEP_MS = 5;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Moves what is left in `dir` back to the root (rmdir refuses a cgroup with tasks: EBUSY), then
 * removes it. A task already exiting cannot be moved (the kernel skips it) and stays in the cgroup
 * until its exit reaches cgroup_exit(), after it closed its pipes: Ctrl-C signals the servers with
 * the bench, and a crashed server's EOF reaches the bench first. Seen once on a loaded machine,
 * both cgroups left behind. This runs at exit and in signal handlers, where no event can be
 * awaited, so EBUSY is retried, a few milliseconds apart, for at most EXITING_WAIT_MS.
 */
function emptyAndRemove(root, dir) {
  const deadline = Date.now() + EXITING_WAIT_MS;
  for (;;) {
    try {
      for (const task of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          fs.writeFileSync(path.join(root, 'cgroup.procs'), task);
        } catch {
          // exited meanwhile
        }
      }
      fs.rmdirSync(dir);
      return;
    } catch (error) {
      // Gone already: another bench starting at the same time removed the same leftover (seen with
      // two test runs at once), which is what was wanted.
      if (error.code === 'ENOENT') return;
      if (error.code === 'EBUSY' && Date.now() < deadline) {
        Atomics.wait(pause, 0, 0, EXITING_STEP_MS);
        continue;
      }
      console.error(`bench: could not remove ${dir} (${error.code ?? error.message}): rmdir it by hand`);
      return;
    }
  }
}

/**
 * Limits `pid` (all its threads) to `share` of one core. Returns `{ kind, release() }`, or
 * `{ reason }`.
 */
export function limitCpu(pid, share, name) {
  const where = hierarchy();
  if (where.reason) return where;
  const dir = path.join(where.root, `sockclose-bench-${name}-${process.pid}`);
  // A process still in it (a server not stopped: the bench failed or was interrupted) is moved
  // out first.
  const remove = () => {
    made.delete(dir);
    emptyAndRemove(where.root, dir);
  };
  sweepAbandoned(where.root);
  try {
    if (where.kind === 'v2') fs.writeFileSync(path.join(where.root, 'cgroup.subtree_control'), '+cpu');
    fs.mkdirSync(dir);
    removeOnEnd();
    made.set(dir, remove);
    const quota = String(Math.round(share * PERIOD_US));
    if (where.kind === 'v2') {
      fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    } else {
      fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), quota);
    }
    fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
  } catch (error) {
    if (made.has(dir)) remove();
    return { reason: `cannot make a cgroup with a cpu quota (${where.kind}, ${dir}): ${error.code ?? error.message}` };
  }
  return {
    kind: where.kind,
    /** Removes the cgroup (once the process has exited; else it is moved out first). */
    release() {
      if (made.has(dir)) remove();
    },
  };
}
