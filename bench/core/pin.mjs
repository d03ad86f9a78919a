// `npm run bench -- --pin`: the per-call section with JavaScript and the C loop on one CPU.
// Unpinned, the C baseline (its own process) and Node may run on different cores; once, on this VM
// after a CI run, the C loop measured 1.1-1.2x slower than sockclose's same syscalls, and "above the
// syscalls" went negative. Pinned, both loops see the same core in every round.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * The CPU to pin to: the last one this process may run on, or null where pinning is not possible
 * or not needed (not Linux, no `taskset`, a single allowed CPU, or already pinned).
 */
export function pinCpu() {
  if (process.platform !== 'linux' || process.env.SOCKCLOSE_BENCH_PINNED) return null;
  let allowed;
  try {
    allowed = /^Cpus_allowed_list:\s*(.+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
  } catch {
    return null;
  }
  const cpus = (allowed ?? '').split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    return Number.isInteger(from) && Number.isInteger(to) ? Array.from({ length: to - from + 1 }, (_, i) => from + i) : [];
  });
  if (cpus.length < 2) return null;
  const probe = spawnSync('taskset', ['-c', String(cpus.at(-1)), 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? cpus.at(-1) : null;
}

/**
 * Runs `script` with `args` under Node pinned to `cpu` (its children inherit it) and returns what
 * it printed on stdout, parsed as JSON; its stderr passes through.
 */
export function runPinned(cpu, script, args) {
  const child = spawnSync('taskset', ['-c', String(cpu), process.execPath, script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, SOCKCLOSE_BENCH_PINNED: String(cpu) },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`${script} pinned to CPU ${cpu} exited with ${child.status ?? child.signal}`);
  return JSON.parse(child.stdout);
}
