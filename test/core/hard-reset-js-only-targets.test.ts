// hardReset() of a target no reset can work on, whether or not the native binary loaded: an
// AF_UNIX socket has no RST (ERR_SOCKCLOSE_NOT_TCP, a TypeError), TLS over a JavaScript stream has
// no descriptor (ERR_SOCKCLOSE_NO_FD). Without the binary these said ERR_SOCKCLOSE_UNSUPPORTED
// "… and the native binary is unavailable", as if a binary would have made them work.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runNode } from '../helpers/run-node.js';
import { root } from '../helpers/sockclose.js';

async function report(binary: string | undefined): Promise<Record<string, unknown>> {
  const env: NodeJS.ProcessEnv = { ...process.env, SOCKCLOSE_LIB: path.join(root, 'lib', 'index.js') };
  if (binary === undefined) delete env.SOCKCLOSE_BINARY;
  else env.SOCKCLOSE_BINARY = binary;
  const run = await runNode([path.join(root, 'test', 'fixtures', 'hard-reset-targets.cjs')], { timeoutMs: 20_000, env });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

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
