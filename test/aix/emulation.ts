// Builds the AIX error-state emulation (aix_reset_emulation.c) with gcc, once per test process, into
// a temporary directory, and gives the environment that preloads it into a child process. The
// test runner itself never loads it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const source = path.join(import.meta.dirname, 'aix_reset_emulation.c');
let built: Promise<string> | undefined;
let dir: string | undefined;

/** The path of the compiled shim (built on first call; removeEmulationLibrary() removes it). */
export function emulationLibrary(): Promise<string> {
  return (built ??= build());
}

/**
 * Removes the shim's directory: every test file that uses emulationLibrary() calls it in
 * afterAll (a process 'exit' hook never runs: the test runner ends its workers by a signal).
 */
export function removeEmulationLibrary(): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  built = undefined;
}

async function build(): Promise<string> {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-aix-emulation-'));
  const library = path.join(dir, 'libaix_reset_emulation.so');
  await run('gcc', ['-shared', '-fPIC', '-O2', '-std=c11', '-Wall', '-Wextra', '-Werror', '-o', library, source, '-ldl'], {
    timeout: 60_000,
  });
  return library;
}

/**
 * The environment for a child process under test: this one's, minus NODE_OPTIONS, LD_PRELOAD and
 * NODE_CLUSTER_SCHED_POLICY, plus `extra`, plus `LD_PRELOAD` when `library` is given.
 */
export function childEnv(library: string | null, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Each child starts from Node's defaults: no preloads, the platform's own scheduling policy.
  delete env.NODE_OPTIONS;
  delete env.LD_PRELOAD;
  delete env.NODE_CLUSTER_SCHED_POLICY;
  Object.assign(env, extra);
  if (library) env.LD_PRELOAD = library;
  return env;
}
