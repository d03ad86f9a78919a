// What `npm run check:dist` says when it cannot finish, checked without running it (it takes many
// minutes): its last line names whether a tarball was written, and its time limits stretch with
// the load and with SOCKCLOSE_TIMEOUT_SCALE instead of failing a slow but healthy machine.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);
type Check = { name: string; ok: boolean };
const { lastLine } = require(path.join(root, 'scripts/dist/summary.js')) as {
  lastLine(facts: { passed: number; checks: Check[]; out?: string; verifiedTarball?: string }): string;
};
const { run, timeoutScale } = require(path.join(root, 'scripts/dist/run.js')) as {
  run(file: string, args: string[], options?: { timeoutMs?: number }): { stdout: string };
  timeoutScale(): number;
};

const scale = process.env.SOCKCLOSE_TIMEOUT_SCALE;
afterEach(() => {
  if (scale === undefined) delete process.env.SOCKCLOSE_TIMEOUT_SCALE;
  else process.env.SOCKCLOSE_TIMEOUT_SCALE = scale;
});

describe('check:dist, last line', () => {
  const ok = (name: string): Check => ({ name, ok: true });
  const failed = (name: string): Check => ({ name, ok: false });
  const out = path.join(os.tmpdir(), 'dist-out');

  it('with --out and a failed check: NO tarball written, where, and which checks failed', () => {
    const line = lastLine({ passed: 1, checks: [ok('pack'), failed('arm64: Node 18.20.8 under qemu')], out });
    expect(line).toBe(`check:dist: 1 passed, 1 failed; NO tarball written to ${out} (failed: arm64: Node 18.20.8 under qemu)`);
  });

  it('with --out and every check passed: the tarball written', () => {
    expect(lastLine({ passed: 2, checks: [ok('a'), ok('b')], out, verifiedTarball: `${out}/sockclose-0.1.0.tgz` })).toBe(
      `check:dist: 2 passed, 0 failed; verified tarball written: ${out}/sockclose-0.1.0.tgz`,
    );
  });

  it('with --out, no failure but no tarball (stopped early), or nothing checked: still says NO tarball', () => {
    expect(lastLine({ passed: 1, checks: [ok('a')], out })).toMatch(/NO tarball written .*\(the checks stopped before the end\)$/);
    expect(lastLine({ passed: 0, checks: [], out })).toMatch(/NO tarball written .*\(nothing was checked\)$/);
    const many = [failed('1'), failed('2'), failed('3'), failed('4'), failed('5')];
    expect(lastLine({ passed: 0, checks: many, out })).toMatch(/\(failed: 1; 2; 3; and 2 more\)$/);
  });

  it('without --out: says none was kept', () => {
    expect(lastLine({ passed: 3, checks: [ok('a'), ok('b'), ok('c')] })).toBe('check:dist: 3 passed, 0 failed; no tarball kept (--out DIR keeps the verified one)');
  });

  it('the real script, refusing --out with --no-arm64: its last line says no tarball was written', () => {
    const result = spawnSync(process.execPath, [path.join(root, 'scripts/dist/check-dist.js'), '--out', out, '--no-arm64'], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n').pop()).toBe(`check:dist: no tarball written to ${out} (nothing was checked)`);
  });
});

describe('check:dist, time limits', () => {
  it('a command past its limit fails naming the limit, the load factor and SOCKCLOSE_TIMEOUT_SCALE', () => {
    delete process.env.SOCKCLOSE_TIMEOUT_SCALE;
    expect(() => run('sleep', ['30'], { timeoutMs: 50 })).toThrow(/timed out after \d+ ms \(limit 50 ms × \d+\.\d for the load; SOCKCLOSE_TIMEOUT_SCALE=N allows N times more\)/);
  });

  it('SOCKCLOSE_TIMEOUT_SCALE stretches every limit; the load never shrinks one', () => {
    delete process.env.SOCKCLOSE_TIMEOUT_SCALE;
    const base = timeoutScale();
    expect(base).toBeGreaterThanOrEqual(1);
    process.env.SOCKCLOSE_TIMEOUT_SCALE = '200';
    expect(timeoutScale()).toBeGreaterThanOrEqual(200);
    // 5 ms nominal would kill a 300 ms command; ×200 (at least 1 s) lets it finish.
    expect(run('sleep', ['0.3'], { timeoutMs: 5 }).stdout).toBe('');
    process.env.SOCKCLOSE_TIMEOUT_SCALE = '0.1'; // a factor below 1 is ignored
    expect(timeoutScale()).toBeGreaterThanOrEqual(1);
  });
});
