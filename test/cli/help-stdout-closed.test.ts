// --help and --version with nobody reading stdout (`sockclose --help | true`): the command has
// done all it does, only its output was left, so it exits with its own code (0), as exit-codes.ts
// and docs/harness.md say of every finished command. 141 is for a run cut short.
import { spawn } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';
import { MAIN } from './cli.js';

/** Runs `script` with this side of its stdout pipe closed at once: its first write fails with EPIPE. */
function runWithStdoutClosed(args: string[], script = MAIN): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return within(
    new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr }))),
    20_000,
    `${path.basename(script)} ${args.join(' ')} to exit`,
  );
}

describe('sockclose: help and version with stdout closed', () => {
  it.each([[['--help']], [['--version']], [['help']], [['help', 'serve']], [['probe', '--help']], [['audit', '--help']]])(
    '%j: exit 0, not 141',
    async (args) => {
      expect(await runWithStdoutClosed(args)).toEqual({ code: 0, signal: null, stderr: '' });
    },
  );

  it('npm run demo -- --help: exit 0, not 141', async () => {
    expect(await runWithStdoutClosed(['--help'], path.join(root, 'lib', 'demo', 'main.js'))).toEqual({ code: 0, signal: null, stderr: '' });
  });
});
