// lingeringClose()'s option values are the caller's to get right wherever it runs: checked before
// whether the close can happen here. Without the native binary a negative idleTimeout or a string
// for options said ERR_SOCKCLOSE_UNSUPPORTED, so the bug surfaced only on a machine with the
// binary (enableLingeringClose() and setLinger() checked theirs first already). Each option is
// still read once.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runNode } from '../helpers/run-node.js';
import { root } from '../helpers/sockclose.js';

async function report(binary: string | undefined): Promise<Record<string, unknown>> {
  const env: NodeJS.ProcessEnv = { ...process.env, SOCKCLOSE_LIB: path.join(root, 'lib', 'index.js') };
  if (binary === undefined) delete env.SOCKCLOSE_BINARY;
  else env.SOCKCLOSE_BINARY = binary;
  const run = await runNode([path.join(root, 'test', 'fixtures', 'lingering-close-bad-options.cjs')], { timeoutMs: 20_000, env });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

const badOptions = {
  negativeIdle: 'RangeError ERR_OUT_OF_RANGE',
  stringOptions: 'TypeError ERR_INVALID_ARG_TYPE',
  badOnTimeout: 'TypeError ERR_INVALID_ARG_VALUE',
  leftOpen: true,
  reads: { idleTimeout: 1, maxTimeout: 1, maxDrainBytes: 1, onTimeout: 1 },
};

describe('lingeringClose() checks its options before whether it can close here', () => {
  it('with the native binary: the option errors, then a close that reads each option once', async () => {
    expect(await report(undefined)).toEqual({ native: true, ...badOptions, good: 'ok' });
  });

  it('without it (a broken binary): the same option errors; good options then meet ERR_SOCKCLOSE_UNSUPPORTED', async () => {
    const missing = path.join(root, 'build', 'no-such-dir', 'sockclose.node');
    expect(await report(missing)).toEqual({ native: false, ...badOptions, good: 'Error ERR_SOCKCLOSE_UNSUPPORTED' });
  });
});
