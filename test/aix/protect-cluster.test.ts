// protectCluster()'s contract, one fresh process per scenario (cluster state is per process):
// what it changes and reports, where it refuses to run, and how it validates its options.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { childEnv } from './emulation.js';

const run = promisify(execFile);
const CASES = path.join(import.meta.dirname, 'fixtures', 'protect-cases.cjs');

interface Attempt {
  ok: boolean;
  value?: Report;
  name?: string;
  code?: string;
  message?: string;
}
interface Report {
  exposed: boolean;
  forced: boolean;
  applied: boolean;
  reason: string;
  settings: Array<{ setting: string; before: string | null; after: string | null; changed: boolean; why: string }>;
}
interface Outcome {
  result: Attempt;
  policy: string;
  env: string | null;
  [key: string]: unknown;
}

async function scenario(name: string, env: Record<string, string> = {}): Promise<Outcome> {
  const { stdout } = await run(process.execPath, [CASES, name], { env: childEnv(null, env), timeout: 30_000 });
  return JSON.parse(stdout) as Outcome;
}

function setting(report: Report | undefined, name: string) {
  return report?.settings.find((entry) => entry.setting === name);
}

describe('protectCluster() on a system that is not exposed (this Linux machine)', () => {
  it('changes nothing without force, and says why', async () => {
    const { result, policy, env } = await scenario('unexposed');
    expect(result.ok).toBe(true);
    expect(result.value).toMatchObject({ exposed: false, forced: false, applied: false });
    expect(result.value!.reason).toMatch(/only happens on AIX and IBM i/);
    // Both settings are reported (the loop below checks each: an empty list would pass it).
    expect(result.value!.settings.map((entry) => entry.setting)).toEqual(['cluster.schedulingPolicy', 'NODE_CLUSTER_SCHED_POLICY']);
    for (const entry of result.value!.settings) {
      expect(entry.changed).toBe(false);
      expect(entry.why).toMatch(/not exposed.*force: true/);
    }
    expect({ policy, env }).toEqual({ policy: 'rr', env: null });
  });

  it('with { force: true }: switches to SCHED_NONE and sets NODE_CLUSTER_SCHED_POLICY=none, reporting both', async () => {
    const { result, policy, env } = await scenario('forced');
    expect(result.value).toMatchObject({ exposed: false, forced: true, applied: true });
    expect(setting(result.value, 'cluster.schedulingPolicy')).toMatchObject({ before: 'rr', after: 'none', changed: true });
    expect(setting(result.value, 'NODE_CLUSTER_SCHED_POLICY')).toMatchObject({ before: null, after: 'none', changed: true });
    expect({ policy, env }).toEqual({ policy: 'none', env: 'none' });
  });

  it('{ env: false } leaves the environment alone', async () => {
    const { result, policy, env } = await scenario('forced-no-env');
    expect(setting(result.value, 'NODE_CLUSTER_SCHED_POLICY')).toMatchObject({ before: null, after: null, changed: false });
    expect(setting(result.value, 'NODE_CLUSTER_SCHED_POLICY')!.why).toMatch(/options\.env is false/);
    expect({ policy, env }).toEqual({ policy: 'none', env: null });
  });

  it('overrides NODE_CLUSTER_SCHED_POLICY=rr, and reports the variable it found', async () => {
    const { result, policy, env } = await scenario('forced', { NODE_CLUSTER_SCHED_POLICY: 'rr' });
    expect(setting(result.value, 'cluster.schedulingPolicy')).toMatchObject({ before: 'rr', after: 'none', changed: true });
    expect(setting(result.value, 'NODE_CLUSTER_SCHED_POLICY')).toMatchObject({ before: 'rr', after: 'none', changed: true });
    expect({ policy, env }).toEqual({ policy: 'none', env: 'none' });
  });

  it('with NODE_CLUSTER_SCHED_POLICY=none already: changes nothing but pins the policy', async () => {
    const { result } = await scenario('forced', { NODE_CLUSTER_SCHED_POLICY: 'none' });
    expect(setting(result.value, 'cluster.schedulingPolicy')).toMatchObject({ before: 'none', after: 'none', changed: false });
    expect(setting(result.value, 'cluster.schedulingPolicy')!.why).toMatch(/pinned/);
    expect(setting(result.value, 'NODE_CLUSTER_SCHED_POLICY')).toMatchObject({ before: 'none', changed: false });
  });

  it('is idempotent: a second call reports the policy as already pinned', async () => {
    const { first, second } = (await scenario('twice')) as unknown as { first: Attempt; second: Attempt };
    expect(first.value!.settings.some((entry) => entry.changed)).toBe(true);
    expect(second.value!.settings.map((entry) => entry.setting)).toEqual(['cluster.schedulingPolicy', 'NODE_CLUSTER_SCHED_POLICY']);
    expect(second.value!.settings.every((entry) => !entry.changed)).toBe(true);
    expect(setting(second.value, 'cluster.schedulingPolicy')!.why).toMatch(/earlier protectCluster/);
  });

  it('after a forced call, a plain call reports the protection as applied (earlier), not as left alone', async () => {
    const { first, second, third, policy, env } = (await scenario('forced-then-plain')) as unknown as {
      first: Attempt;
      second: Attempt;
      third: Attempt;
      policy: string;
      env: string | null;
    };
    expect(first.value).toMatchObject({ exposed: false, forced: true, applied: true });
    for (const later of [second, third]) {
      expect(later.ok).toBe(true);
      expect(later.value).toMatchObject({ exposed: false, forced: false, applied: true });
      expect(later.value!.settings.map((entry) => entry.setting)).toEqual(['cluster.schedulingPolicy', 'NODE_CLUSTER_SCHED_POLICY']);
      expect(later.value!.settings.every((entry) => !entry.changed)).toBe(true);
      for (const entry of later.value!.settings) expect(entry.why).not.toMatch(/not exposed|pass \{ force: true \}/);
      expect(setting(later.value, 'cluster.schedulingPolicy')).toMatchObject({ before: 'none', after: 'none' });
      expect(setting(later.value, 'cluster.schedulingPolicy')!.why).toMatch(/applied and pinned by an earlier protectCluster/);
    }
    expect(setting(second.value, 'NODE_CLUSTER_SCHED_POLICY')).toMatchObject({ before: 'none', after: 'none' });
    expect(setting(second.value, 'NODE_CLUSTER_SCHED_POLICY')!.why).toMatch(/applied by an earlier protectCluster/);
    expect(setting(third.value, 'NODE_CLUSTER_SCHED_POLICY')!.why).toMatch(/options\.env is false/);
    expect({ policy, env }).toEqual({ policy: 'none', env: 'none' });
  });

  it('keeps code that runs later from switching back to round-robin, with a warning', async () => {
    const outcome = await scenario('pinned');
    expect(outcome.afterRr).toBe('none');
    expect(outcome.policy).toBe('none');
    expect(outcome.warnings).toEqual([
      expect.objectContaining({ name: 'SockcloseWarning', code: 'SOCKCLOSE_CLUSTER_POLICY_PINNED', message: expect.stringMatching(/ignored: SCHED_RR/) }),
    ]);
  });
});

describe('protectCluster() on an exposed system (AIX, libuv 1.43.0, simulated)', () => {
  it('applies without force', async () => {
    const { result, policy, env } = await scenario('exposed');
    expect(result.value).toMatchObject({ exposed: true, forced: false, applied: true });
    expect(result.value!.reason).toMatch(/AIX with libuv 1\.43\.0/);
    expect({ policy, env }).toEqual({ policy: 'none', env: 'none' });
  });
});

describe('protectCluster() where it cannot work', () => {
  it('throws ERR_SOCKCLOSE_CLUSTER_STARTED after setupPrimary(), changing nothing', async () => {
    const { result, policy, env } = await scenario('after-setup');
    expect(result).toMatchObject({ ok: false, name: 'Error', code: 'ERR_SOCKCLOSE_CLUSTER_STARTED' });
    expect(result.message).toMatch(/before cluster\.setupPrimary\(\) \/ cluster\.fork\(\)/);
    expect({ policy, env }).toEqual({ policy: 'rr', env: null });
  });

  it('throws after fork(), even unforced on an unexposed system (a misplaced call shows in development)', async () => {
    const { result } = await scenario('after-fork');
    expect(result).toMatchObject({ ok: false, code: 'ERR_SOCKCLOSE_CLUSTER_STARTED' });
  });

  it('throws ERR_SOCKCLOSE_CLUSTER_STARTED in a worker, pointing at the primary', async () => {
    const { result } = await scenario('in-worker');
    expect(result).toMatchObject({ ok: false, code: 'ERR_SOCKCLOSE_CLUSTER_STARTED' });
    expect(result.message).toMatch(/must run in the cluster primary/);
    expect(result.message).toMatch(/NODE_CLUSTER_SCHED_POLICY=none/);
  });

  it('validates options like Node (TypeError ERR_INVALID_ARG_TYPE), before anything else', async () => {
    const { results, policy, env } = (await scenario('bad-options')) as unknown as { results: Attempt[]; policy: string; env: string | null };
    expect(results.map((r) => [r.ok, r.name, r.code])).toEqual(Array(7).fill([false, 'TypeError', 'ERR_INVALID_ARG_TYPE']));
    expect(results.map((r) => r.message!.match(/"([^"]+)"/)![1])).toEqual([
      'options',
      'options',
      'options',
      'options',
      'options.force',
      'options.env',
      'options.env',
    ]);
    expect({ policy, env }).toEqual({ policy: 'rr', env: null });
  });
});
