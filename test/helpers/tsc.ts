// The repository's TypeScript compiler, run on a project: for the tests that type-check a consumer
// of the published declarations (test/dist/narrowing-types.test.ts, the README's example).
import { execFile } from 'node:child_process';
import path from 'node:path';

import { root } from './sockclose.js';

/** Runs `tsc -p project` in `cwd`, killed after `timeoutMs`; resolves with its exit code and output. */
export function typeCheckProject(project: string, cwd: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', project], { cwd, timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const status = error ? (error as { code?: unknown }).code : 0;
      resolve({ code: typeof status === 'number' ? status : null, output: `${stdout}${stderr}${error?.killed ? ' (killed: timeout)' : ''}` });
    });
  });
}
