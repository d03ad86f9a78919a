// A Node script run to its end as a child process, killed (SIGKILL) if it outlives its bound: for
// the tests that judge a command by its exit code and output (the CLI, the benches, tsc).
import { execFile } from 'node:child_process';

/** How a run ended: its exit code (null if a signal ended it), stdout, and stderr. */
export interface NodeRun {
  code: number | null;
  stdout: string;
  /** Ends with " (killed: timeout)" when the bound ended the run. */
  stderr: string;
  /** The process's pid (what it named things after: a bench's cgroups). */
  pid: number | undefined;
}

/** Runs `node ...args` (this test's Node) with `cwd` and `env`, killed after `timeoutMs`. */
export function runNode(args: string[], options: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<NodeRun> {
  const { timeoutMs, cwd, env } = options;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, args, { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr: error?.killed ? `${stderr} (killed: timeout)` : stderr, pid: child.pid });
    });
  });
}
