// The noise-free second view of per-call cost: user-space instructions per call, counted by
// valgrind's callgrind (perf's hardware counters are "not supported" on these VMs). Each figure is
// (I(n2) - I(n1)) / (n2 - n1) from two runs that differ only in the number of calls, so startup,
// JIT warm-up and exit cancel out; node runs with --predictable, which makes the totals repeat to
// within a few hundred instructions, whatever else the machine is doing.
//
// Callgrind counts user-space instructions only: the kernel's side of each syscall is not in these
// figures (that is what the timed benchmark adds). So this view isolates exactly what sockclose
// adds on top of the syscalls: JavaScript validation, target resolution, the N-API call, result
// objects.
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const probe = path.join(import.meta.dirname, 'instructions-probe.cjs');
const N1 = 2_000;
const N2 = 42_000;

/** Whether valgrind is installed. */
export function hasValgrind() {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function callgrind(command, args, input) {
  const child = run('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', command, ...args], {
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, NODE_OPTIONS: '', LD_PRELOAD: '' },
  });
  if (input !== undefined) child.child.stdin.end(input);
  const { stderr } = await child;
  const match = /Collected : (\d+)/.exec(stderr);
  if (!match) throw new Error(`no callgrind total in: ${stderr.slice(-500)}`);
  return Number(match[1]);
}

async function perCall(measure) {
  const [low, high] = await Promise.all([measure(N1), measure(N2)]);
  return (high - low) / (N2 - N1);
}

/** The JavaScript operations measured, and the C loop that makes the same syscalls. */
export const OPERATIONS = [
  { name: 'setLinger', c: 'setLinger' },
  { name: 'getLinger', c: 'getLinger' },
  { name: 'getLinger:fd', c: 'getLinger:fd' },
  { name: 'peekSocketError', c: 'peekSocketError' },
  { name: 'inspectSocket', c: 'inspectSocket' },
  { name: 'closeWouldReset', c: 'closeWouldReset' },
  { name: 'takeSocketError', c: 'takeSocketError' },
  { name: 'setNoDelay', c: 'setNoDelay' },
  // Attribution: the raw N-API call (no JavaScript layer), the fast path's target check alone
  // (liveTcpFd), Node's `handle.fd` accessor inside it, and the full resolve() alone.
  { name: 'binding.getLinger', c: 'getLinger' },
  { name: 'binding.setLinger', c: 'setLinger' },
  { name: 'binding.probe:peek', c: 'peekProbe' },
  { name: 'binding.pollRevents', c: 'peekSocketError' },
  { name: 'binding.resetHints', c: 'closeWouldReset' },
  { name: 'binding.probe:inspect', c: 'inspectSocket' },
  { name: 'liveTcpFd', c: null },
  { name: 'handle.fd', c: null },
  { name: 'resolve', c: null },
];

/**
 * @param {{ baseline: string, log?: (line: string) => void }} options `baseline`: the compiled
 *   syscall-baseline executable.
 */
export async function instructions(options) {
  const { baseline, log = () => {} } = options;
  const js = (operation) => perCall((n) => callgrind(process.execPath, ['--predictable', probe, operation, String(n)]));
  const c = (operation) => perCall((n) => callgrind(baseline, [], `${operation} ${n}\nquit\n`));

  const loop = await js('empty');
  const rows = [];
  for (const operation of OPERATIONS) {
    const [total, syscalls] = await Promise.all([js(operation.name), operation.c ? c(operation.c) : Promise.resolve(Number.NaN)]);
    const calls = total - loop; // the benchmark loop's own cost, measured with an empty call
    rows.push({ name: operation.name, js: calls, c: syscalls, overhead: calls - (Number.isFinite(syscalls) ? syscalls : 0) });
    log(`  ${operation.name}: ${Math.round(calls)} instructions per call`);
  }
  return { loop, rows, n1: N1, n2: N2 };
}
