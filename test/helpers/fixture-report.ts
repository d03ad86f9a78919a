// A fixture script (test/fixtures/<name>) run in its own process against lib/, with the native
// binary the loader finds or, through SOCKCLOSE_BINARY, another one (a path that does not exist:
// the JavaScript-only mode); the one JSON object it prints, once it exited 0 and wrote no stderr.
import path from 'node:path';

import { expect } from 'vitest';

import { runNode } from './run-node.js';
import { root } from './sockclose.js';

/** Runs test/fixtures/`fixture` with SOCKCLOSE_BINARY = `binary` (unset: the loader's own choice). */
export async function fixtureReport(fixture: string, binary: string | undefined): Promise<Record<string, unknown>> {
  const env: NodeJS.ProcessEnv = { ...process.env, SOCKCLOSE_LIB: path.join(root, 'lib', 'index.js') };
  if (binary === undefined) delete env.SOCKCLOSE_BINARY;
  else env.SOCKCLOSE_BINARY = binary;
  const run = await runNode([path.join(root, 'test', 'fixtures', fixture)], { timeoutMs: 20_000, env });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}
