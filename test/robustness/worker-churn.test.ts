// Worker churn: worker_threads created and terminated while they use the addon. Each run is a child
// process (a crash there is a failed exit status here, not a dead test runner).
// - fixtures/worker-churn.cjs: 50 workers, 5 at a time, terminated at random moments (before
//   loading sockclose, mid-loop of native calls, between connections, or not at all), while the
//   main thread keeps calling the addon; every result is checked against what that thread set (the
//   probe record is per environment). The process's descriptors must return to their baseline.
// - fixtures/terminate-mid-call.cjs: 60 terminations landing inside tight loops of native calls,
//   the case most likely to meet the addon in the middle of a call.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { underAsan } from '../helpers/sanitizer.js';

const run = promisify(execFile);
const fixtures = path.join(import.meta.dirname, 'fixtures');
const seed = Number(process.env.SOCKCLOSE_CHURN_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface ChurnReport {
  seed: number;
  counts: Record<string, number>;
  mainCalls: number;
  errors: string[];
  errorCount: number;
  before: { fds: number; rss: number; heapUsed: number };
  after: { fds: number; rss: number; heapUsed: number };
  fatal?: string;
}

/** Runs a fixture; resolves with its stdout, exit code and signal, never rejects on failure. */
async function fixture(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, args, { env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 16 << 20 });
    return { stdout, stderr, code: 0, signal: null as string | null };
  } catch (error) {
    const failure = error as { stdout: string; stderr: string; code: number; signal: string | null };
    return { stdout: failure.stdout, stderr: failure.stderr, code: failure.code, signal: failure.signal };
  }
}

describe('worker churn', () => {
  it(`50 workers created and terminated while using the addon: no crash, no descriptor leak (seed ${seed})`, async () => {
    const result = await fixture(['--expose-gc', path.join(fixtures, 'worker-churn.cjs')], { SOCKCLOSE_CHURN_SEED: String(seed) });
    const context = `exit ${result.code} signal ${result.signal}; reproduce: SOCKCLOSE_CHURN_SEED=${seed} node --expose-gc test/robustness/fixtures/worker-churn.cjs\n${result.stderr.slice(-3000)}`;
    expect(result.signal, context).toBeNull();
    expect(result.code, context).toBe(0);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as ChurnReport;
    console.log(`worker churn (seed ${seed}): ${JSON.stringify(report.counts)}; main-thread calls ${report.mainCalls}; fds ${report.before.fds} -> ${report.after.fds}; RSS ${(report.before.rss / 2 ** 20).toFixed(1)} -> ${(report.after.rss / 2 ** 20).toFixed(1)} MiB; heap ${(report.before.heapUsed / 2 ** 20).toFixed(1)} -> ${(report.after.heapUsed / 2 ** 20).toFixed(1)} MiB`);
    expect(report.fatal, context).toBeUndefined();
    expect(report.errors, context).toEqual([]);
    expect(report.counts.created).toBe(50);
    expect(report.counts.exited).toBe(50);
    // Every kind of ending happened (else this run proved less than it claims).
    for (const kind of ['terminatedEarly', 'terminatedSpinning', 'terminatedChurning', 'finished']) expect(report.counts[kind], kind).toBeGreaterThan(0);
    expect(report.mainCalls).toBeGreaterThan(0);
    expect(report.after.fds, 'descriptors back to the baseline').toBe(report.before.fds);
    // Memory, with room for what V8 keeps after 50 isolates came and went (~12 MiB of RSS seen
    // here): a leaked worker environment costs several MiB each, 50 of them far more than this.
    // (Not RSS under ASan, whose quarantine holds freed memory.)
    expect((report.after.heapUsed - report.before.heapUsed) / 2 ** 20, 'main-thread heap MiB grown').toBeLessThan(8);
    if (!underAsan) expect((report.after.rss - report.before.rss) / 2 ** 20, 'RSS MiB grown').toBeLessThan(96);
  });

  it('workers terminated inside tight loops of native calls: the process survives every termination', async () => {
    const result = await fixture([path.join(fixtures, 'terminate-mid-call.cjs'), '60']);
    const context = `exit ${result.code} signal ${result.signal}\n${result.stderr.slice(-3000)}`;
    expect(result.stderr, context).not.toMatch(/FATAL ERROR/);
    expect(result.signal, context).toBeNull();
    expect(result.code, context).toBe(0);
    expect(result.stdout).toContain('survived 60');
  });
});
