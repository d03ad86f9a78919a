// `npm run demo` (lib/demo/main.js) takes its arguments as `sockclose demo` does: --runs=N, -r N,
// --help, --json; an unknown or malformed argument is exit 2 before anything runs; without the
// native binary, one line saying why and exit 1 (not the "bad argument" code after two modes ran).
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runNode, type NodeRun } from '../helpers/run-node.js';
import { root } from '../helpers/sockclose.js';

const SCRIPT = path.join(root, 'lib', 'demo', 'main.js');

function runDemoScript(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<NodeRun> {
  return runNode([SCRIPT, ...args], { env, timeoutMs: 60_000 });
}

describe('npm run demo: arguments', () => {
  it.each([[['--runs=2']], [['-r', '2']]])('%j: runs 2 connections per way of closing', async (args) => {
    const { code, stdout, stderr } = await runDemoScript(args);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^2 connections per way of closing/m);
  });

  it('--json: the report as JSON', async () => {
    const { code, stdout, stderr } = await runDemoScript(['--runs', '2', '--json']);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ runs: 2, modes: [{ mode: 'plain' }, { mode: 'hardReset' }, { mode: 'lingering', failures: 0 }] });
  });

  it('--help: the help, and no demo', async () => {
    const { code, stdout, stderr } = await runDemoScript(['--help']);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('Usage: sockclose demo');
    expect(stdout).not.toContain('connections per way of closing');
  });

  it.each([
    [['--bogus'], "unknown option '--bogus'"],
    [['--runs', 'abc'], "--runs must be a whole number, not 'abc'"],
    [['--runs', '0x3'], "--runs must be a whole number, not '0x3'"],
    [['--runs'], 'argument missing'],
    [['extra'], "unexpected argument 'extra'"],
  ])('%j: exit 2, what is wrong in words, nothing run', async (args, message) => {
    const { code, stdout, stderr } = await runDemoScript(args);
    expect(code, stderr).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr).not.toContain('options.runs');
  });

  it('without the native binary: one line saying why, exit 1', async () => {
    const binary = path.join(os.tmpdir(), `sockclose-no-binary-${randomUUID()}`, 'missing.node');
    const { code, stdout, stderr } = await runDemoScript(['--runs', '2'], { ...process.env, SOCKCLOSE_BINARY: binary });
    expect(code, stderr).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.split('\n').filter((line) => line !== '');
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^sockclose demo: cannot run here: .*native binary/);
    expect(lines[0]).toContain(binary);
  });
});
