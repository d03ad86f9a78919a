// hardReset() of a target no reset can work on, whether or not the native binary loaded: an
// AF_UNIX socket has no RST (ERR_SOCKCLOSE_NOT_TCP, a TypeError), TLS over a JavaScript stream has
// no descriptor (ERR_SOCKCLOSE_NO_FD). Without the binary these said ERR_SOCKCLOSE_UNSUPPORTED
// "… and the native binary is unavailable", as if a binary would have made them work.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { fixtureReport } from '../helpers/fixture-report.js';
import { root } from '../helpers/sockclose.js';

const report = (binary: string | undefined) => fixtureReport('hard-reset-targets.cjs', binary);

const expected = {
  unixConnecting: 'TypeError ERR_SOCKCLOSE_NOT_TCP',
  unix: 'TypeError ERR_SOCKCLOSE_NOT_TCP',
  unixLeftOpen: true,
  tlsOverJsStream: 'Error ERR_SOCKCLOSE_NO_FD',
};

describe('hardReset() of targets that can never be reset', () => {
  it('with the native binary: NOT_TCP for AF_UNIX, NO_FD for TLS over a JavaScript stream', async () => {
    expect(await report(undefined)).toEqual({ native: true, ...expected });
  });

  it('without it (a broken binary): the same errors, not ERR_SOCKCLOSE_UNSUPPORTED', async () => {
    const missing = path.join(root, 'build', 'no-such-dir', 'sockclose.node');
    expect(await report(missing)).toEqual({ native: false, ...expected });
  });
});
