// protectCluster()'s pin is recognised by what is on `cluster.schedulingPolicy`, not by a record
// private to one copy of sockclose: a second copy in the same process (two versions in one
// dependency tree, a bundled one) sees the first one's protection, and a pin that someone removed
// is not reported as still in place. One fresh process per scenario (cluster state is per process).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { childEnv } from './emulation.js';

const run = promisify(execFile);
const LIB = path.resolve(import.meta.dirname, '..', '..', 'lib');

interface Setting {
  setting: string;
  before: string | null;
  after: string | null;
  changed: boolean;
  why: string;
}
interface Report {
  forced: boolean;
  applied: boolean;
  settings: Setting[];
}

/** Runs `body` in a fresh Node process (with `lib`, `load`, `cluster`, `policy` in scope); prints its JSON result. */
async function scenario<T>(body: string): Promise<T> {
  const script = `
    const cluster = require('node:cluster');
    const path = require('node:path');
    const lib = ${JSON.stringify(LIB)};
    // A fresh copy of sockclose: every module of lib/ loaded again, with its own module state.
    const load = () => {
      for (const key of Object.keys(require.cache)) if (key.startsWith(lib + path.sep)) delete require.cache[key];
      return require(path.join(lib, 'index.js'));
    };
    const policy = () =>
      cluster.schedulingPolicy === cluster.SCHED_NONE ? 'none' : cluster.schedulingPolicy === cluster.SCHED_RR ? 'rr' : String(cluster.schedulingPolicy);
    const attempt = (fn) => { try { return { ok: true, value: fn() }; } catch (error) { return { ok: false, name: error.name, message: error.message }; } };
    Promise.resolve((async () => { ${body} })()).then((result) => process.stdout.write(JSON.stringify(result)));
  `;
  const { stdout } = await run(process.execPath, ['-e', script], { env: childEnv(null), timeout: 30_000 });
  return JSON.parse(stdout) as T;
}

describe('protectCluster(): the pin is read from cluster.schedulingPolicy itself', () => {
  it('a second copy of sockclose reports the protection a first copy applied (applied: true, nothing changed)', async () => {
    const { first, second, copies, policy } = await scenario<{ first: Report; second: Report; copies: boolean; policy: string }>(`
      const a = load();
      const first = a.protectCluster({ force: true });
      const b = load();
      const second = b.protectCluster();
      return { first, second, copies: a.protectCluster !== b.protectCluster, policy: policy() };
    `);
    expect(copies).toBe(true);
    expect(first).toMatchObject({ forced: true, applied: true });
    expect(second).toMatchObject({ forced: false, applied: true });
    expect(second.settings.map((entry) => entry.setting)).toEqual(['cluster.schedulingPolicy', 'NODE_CLUSTER_SCHED_POLICY']);
    expect(second.settings.every((entry) => !entry.changed)).toBe(true);
    for (const entry of second.settings) expect(entry.why).toMatch(/earlier protectCluster/);
    expect(policy).toBe('none');
  });

  it('a pin that was removed is not reported as in place, and a forced call pins again', async () => {
    const { plain, forced, policy, setup } = await scenario<{ plain: Report; forced: Report; policy: string; setup: { ok: boolean } }>(`
      const sockclose = load();
      sockclose.protectCluster({ force: true });
      delete cluster.schedulingPolicy; // the pin is gone (as it would be under another defineProperty)
      const plain = sockclose.protectCluster();
      const forced = sockclose.protectCluster({ force: true });
      const result = { plain, forced, policy: policy() };
      // Node freezes (and asserts) the policy here: it must be a real one.
      result.setup = attempt(() => cluster.setupPrimary({ args: ['noop'] }));
      return result;
    `);
    // Unforced on this unexposed system, with no pin left: nothing is in place, and it says so.
    expect(plain).toMatchObject({ forced: false, applied: false });
    expect(plain.settings.find((entry) => entry.setting === 'cluster.schedulingPolicy')).toMatchObject({ before: 'undefined', after: 'undefined' });
    // Forced: pinned again, as a change.
    expect(forced).toMatchObject({ forced: true, applied: true });
    expect(forced.settings.find((entry) => entry.setting === 'cluster.schedulingPolicy')).toMatchObject({ after: 'none', changed: true });
    expect(policy).toBe('none');
    expect(setup).toMatchObject({ ok: true });
  });
});
