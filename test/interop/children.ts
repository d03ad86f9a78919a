// Child processes for the interop tests, always bounded: a short-lived client (curl, python) is
// killed when its time is up and the wait fails loudly; a long-lived proxy is stopped by the test's
// cleanup. Every child still alive is tracked so that a failing test cannot leave one behind.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

import { within } from '../helpers/wait.js';

const live = new Set<ChildProcess>();
// Daemons run in their own process group (nginx's master has a worker): they are killed as a group.
const groups = new WeakSet<ChildProcess>();

/**
 * `signal` to `child`, or to the process group it leads: while its pipes are open ('close' has
 * not come) a member still lives, a worker outliving its master included.
 */
function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || !live.has(child)) return;
  if (!groups.has(child)) {
    child.kill(signal);
    return;
  }
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/** How a child ended, with everything it wrote. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function track(child: ChildProcess): { output: () => { stdout: string; stderr: string }; exited: Promise<Finished> } {
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Finished>((resolve, reject) => {
    child.once('error', (error) => {
      live.delete(child);
      reject(error);
    });
    // 'close': the exit status and the end of both pipes, so the output is complete.
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      live.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  exited.catch(() => {}); // a caller that never awaits it must not cause an unhandled rejection
  return { output: () => ({ stdout, stderr }), exited };
}

/** Runs `command` to its end, within `timeoutMs` (then it is killed and the wait rejects, naming `what`). */
export async function runChild(command: string, args: string[], timeoutMs: number, what: string): Promise<Finished> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const { exited } = track(child);
  try {
    return await within(exited, timeoutMs, `${what} to exit`);
  } catch (error) {
    kill(child, 'SIGKILL');
    throw error;
  }
}

/** A long-lived child: its output so far, its end, and a bounded stop. */
export interface Daemon {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Settles when it exits, whenever that is. */
  exited: Promise<Finished>;
  /**
   * Sends `signal` (default SIGTERM) to it and waits for its exit; SIGKILL to its process group
   * if it has not exited within 5 s (and the wait rejects). At once if it has exited already.
   */
  stop(signal?: NodeJS.Signals): Promise<Finished>;
}

/** Starts a long-lived child (a proxy) as the leader of a new process group; `stdio` and `env` as for spawn(). */
export function startDaemon(command: string, args: string[], options: Pick<SpawnOptions, 'stdio' | 'env' | 'cwd'>): Daemon {
  const child = spawn(command, args, { ...options, detached: true });
  groups.add(child);
  const { output, exited } = track(child);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<Finished> => {
    // To the leader only: nginx's master stops its worker itself.
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    try {
      return await within(exited, 5000, `${command} to exit after ${signal}`);
    } catch (error) {
      kill(child, 'SIGKILL');
      await within(exited, 5000, `${command} to exit after SIGKILL`);
      throw error;
    }
  };
  return { child, output, exited, stop };
}

/** Kills every child still alive (after each test: a failure halfway must not leave one running). */
export async function killLiveChildren(): Promise<void> {
  const left = [...live];
  for (const child of left) kill(child, 'SIGKILL');
  await within(
    Promise.all(left.map((child) => new Promise((resolve) => (live.has(child) ? child.once('close', resolve) : resolve(null))))),
    5000,
    `${left.length} killed children to exit`,
  );
}
