// CI's closing line ("N passed, N failed", .ci/tally.js) from a real vitest run whose failures its
// own totals miss: a test file that cannot load, and one whose worker dies (as a crash in the addon
// ends it). vitest's JSON counted 0 failed tests for both (the dead worker's file even "passed"),
// and the tally said so while the step was red.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-ci-tally-'));
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

function tally(...args: string[]) {
  return spawnSync(process.execPath, [path.join(root, '.ci', 'tally.js'), out, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('.ci/tally.js', () => {
  it('counts a file that cannot load and the tests of a dead worker as failures; skips and todos apart', () => {
    const fixtures = path.join(root, 'test', 'fixtures', 'ci-tally');
    const env = { ...process.env };
    delete env.VITEST; // a fresh vitest, not this one's child
    const run = spawnSync(
      process.execPath,
      [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', fixtures, '--reporter=json', `--outputFile.json=${path.join(out, '20-step.json')}`],
      { cwd: fixtures, env, encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.status).not.toBe(0); // vitest itself saw the run fail
    const summary = tally();
    // passes.case.ts: 1 passed, 2 skipped; import-fails.case.ts: 1 failure; worker-dies.case.ts:
    // its 3 tests never reported (the one that ran included), 3 failures.
    expect(summary.stdout).toContain('20-step: 1 passed, 4 failed (2 skipped)');
    expect(summary.stdout.trim().split('\n').at(-1)).toBe('1 passed, 4 failed');
    expect(summary.status).toBe(1);
    expect(tally('--failures', '20-step').status).toBe(0);
  }, 90_000);

  it('plain {passed, failed} files: summed; --failures says whether a step recorded one', () => {
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, '30-a.json'), '{"passed":3,"failed":0}');
    fs.writeFileSync(path.join(out, '40-b.json'), '{"passed":2,"failed":0}');
    const summary = tally();
    expect(summary.stdout.trim().split('\n').at(-1)).toBe('5 passed, 0 failed');
    expect(summary.status).toBe(0);
    expect(tally('--failures', '30-a').status).toBe(1);
    fs.writeFileSync(path.join(out, '40-b.json'), 'not JSON');
    expect(tally('--failures', '40-b').status).toBe(0); // unreadable counts as a failure
    expect(tally().stdout.trim().split('\n').at(-1)).toBe('3 passed, 1 failed');
  });
});
