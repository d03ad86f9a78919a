// Runs the built CLI (node lib/cli/main.js) as a child process, as a script would.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

import { afterEach, expect } from 'vitest';

import { root } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';

export const MAIN = path.join(root, 'lib', 'cli', 'main.js');

/** A running CLI: its stdout as lines as they come, stderr collected, and its exit. */
export interface Cli {
  child: ChildProcessWithoutNullStreams;
  /** The next stdout line (rejects after `ms`, or at once if the process exits first). */
  line(ms?: number): Promise<string>;
  /** The next stdout line, parsed as JSON. */
  json<T = Record<string, unknown>>(ms?: number): Promise<T>;
  /** Resolves with the exit code, everything left on stdout, and all of stderr. */
  exit(ms?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export function cli(args: string[]): Cli {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: 'pipe' });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines: string[] = [];
  const waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  let stdoutEnded = false;
  let exitCode: number | null = null;
  // A process that dies without printing the line a test waits for must say why at once (its
  // stderr), not after the timeout.
  const noMoreLines = () => {
    if (!stdoutEnded || exitCode === null) return;
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`sockclose ${args.join(' ')} exited with ${exitCode} before printing the line (stderr: ${stderr})`));
  };
  const reader = readline.createInterface({ input: child.stdout });
  reader.on('line', (line) => {
    const next = waiting.shift();
    if (next) next.resolve(line);
    else lines.push(line);
  });
  reader.on('close', () => {
    stdoutEnded = true;
    noMoreLines();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      exitCode = code ?? -1;
      noMoreLines();
      resolve(code);
    }),
  );
  const line = (ms = 10_000) =>
    within(
      new Promise<string>((resolve, reject) => {
        const ready = lines.shift();
        if (ready !== undefined) resolve(ready);
        else {
          waiting.push({ resolve, reject });
          noMoreLines();
        }
      }),
      ms,
      `a line from sockclose ${args.join(' ')}`,
    ).catch((error: Error) => {
      // stderr as it is now, not as it was when the wait began.
      throw new Error(`${error.message} (stderr: ${stderr})`);
    });
  return {
    child,
    line,
    json: async <T>(ms?: number) => JSON.parse(await line(ms)) as T,
    exit: async (ms = 20_000) => {
      const code = await within(exited, ms, `sockclose ${args.join(' ')} to exit (stderr: ${stderr})`);
      // Lines still buffered, and any a reader is not waiting for.
      await new Promise((resolve) => setImmediate(resolve));
      return { code, stdout: lines.splice(0).join('\n'), stderr };
    },
  };
}

/** Runs the CLI to the end. */
export function run(args: string[], ms?: number) {
  return cli(args).exit(ms);
}

/**
 * The CLI processes a test file starts: each one pushed on the returned list is stopped (SIGTERM)
 * after its test if it still runs.
 */
export function stoppedAfterEach(): Cli[] {
  const running: Cli[] = [];
  afterEach(async () => {
    for (const proc of running.splice(0)) {
      if (proc.child.exitCode === null) {
        proc.child.kill('SIGTERM');
        await proc.exit();
      }
    }
  });
  return running;
}

/**
 * Starts a long-running command (serve, proxy) with --json, stopped after the test like the others
 * on `running`; resolves with it and the address from its first line, `{"event":"listening",…}`.
 */
export async function startListening(running: Cli[], args: string[]) {
  const proc = cli([...args, '--json']);
  running.push(proc);
  const listening = await proc.json<{ event: string; host: string; port: number }>();
  expect(listening.event).toBe('listening');
  return { proc, address: `${listening.host}:${listening.port}`, listening };
}
