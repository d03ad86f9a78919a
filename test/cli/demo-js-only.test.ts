// `sockclose demo` without the native binary (JavaScript-only mode: SOCKCLOSE_BINARY names a file
// that does not exist): one line saying why it cannot run, the documented exit code, no stack.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { MAIN } from './cli.js';
import { runNode, type NodeRun } from '../helpers/run-node.js';
import { root } from '../helpers/sockclose.js';

/** A binary path in a directory that is never created (nothing to clean up). */
function missingBinary(): string {
  return path.join(os.tmpdir(), `sockclose-no-binary-${randomUUID()}`, 'missing.node');
}

function runWithBinary(args: string[], binary: string): Promise<NodeRun> {
  return runNode(args, { env: { ...process.env, SOCKCLOSE_BINARY: binary }, timeoutMs: 30_000 });
}

function runJsOnly(args: string[], binary = missingBinary()): Promise<NodeRun> {
  return runWithBinary([MAIN, ...args], binary);
}

/** capabilities() as a process with that SOCKCLOSE_BINARY sees it. */
async function capabilitiesWith(binary: string): Promise<{ native: boolean; reason: string | null }> {
  const { stdout, stderr } = await runWithBinary(['-p', `JSON.stringify(require(${JSON.stringify(path.join(root, 'lib', 'index.js'))}).capabilities())`], binary);
  expect(stdout, stderr).not.toBe('');
  return JSON.parse(stdout) as { native: boolean; reason: string | null };
}

describe('sockclose demo in JavaScript-only mode (no native binary)', () => {
  it.each([[['demo']], [['demo', '--json']], [['demo', '--runs', '2', '--progress']]])(
    '%j: one line naming the reason (capabilities().reason), exit 1 as the help documents, no stack trace',
    async (args) => {
      const binary = missingBinary();
      const { native, reason } = await capabilitiesWith(binary);
      expect(native).toBe(false);
      expect(reason).toContain(binary);
      const { code, stdout, stderr } = await runJsOnly(args, binary);
      expect(code, stderr).toBe(1);
      expect(stdout).toBe('');
      const lines = stderr.split('\n').filter((line) => line !== '');
      expect(lines, stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^sockclose demo: cannot run here: the demo needs sockclose's native binary .*which is not loaded: /);
      // capabilities().reason, word for word: the missing file, and why it could not load.
      expect(lines[0]).toContain(`which is not loaded: ${reason!.replace(/\s+/g, ' ').trim()}`);
      expect(stderr).not.toMatch(/unexpected error|\n\s+at /);
    },
  );

  it('documents it: exit code 1 covers demo where it cannot run', async () => {
    const { code, stdout } = await runJsOnly(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}1 +unexpected failure inside sockclose; demo: cannot run here \(no native binary/m);
  });

  it('a bad command line is still exit 2, checked before the binary', async () => {
    const { code, stderr } = await runJsOnly(['demo', '--runs', '0']);
    expect(code, stderr).toBe(2);
    expect(stderr).not.toContain('native binary');
  });
});
