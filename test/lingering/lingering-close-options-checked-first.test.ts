// lingeringClose()'s option values are the caller's to get right wherever it runs: checked before
// whether the close can happen here. Without the native binary a negative idleTimeout or a string
// for options said ERR_SOCKCLOSE_UNSUPPORTED, so the bug surfaced only on a machine with the
// binary (enableLingeringClose() and setLinger() checked theirs first already). Each option is
// still read once.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { fixtureReport } from '../helpers/fixture-report.js';
import { root } from '../helpers/sockclose.js';

const report = (binary: string | undefined) => fixtureReport('lingering-close-bad-options.cjs', binary);

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
