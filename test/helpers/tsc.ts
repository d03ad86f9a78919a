// The repository's TypeScript compiler, run on a project: for the tests that type-check a consumer
// of the published declarations (test/dist/narrowing-types.test.ts, the README's example).
import path from 'node:path';

import { runNode } from './run-node.js';
import { root } from './sockclose.js';

/** Runs `tsc -p project` in `cwd`, killed after `timeoutMs`; resolves with its exit code and output. */
export async function typeCheckProject(project: string, cwd: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const { code, stdout, stderr } = await runNode([path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd, timeoutMs });
  return { code, output: `${stdout}${stderr}` };
}
