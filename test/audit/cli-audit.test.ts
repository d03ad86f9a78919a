// `sockclose audit -- <command>`: the command runs with the audit preloaded, its exit code is kept.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { cli, MAIN } from '../cli/cli.js';
import { tempDir } from '../helpers/net.js';
import { root } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';

const app = path.join(root, 'test', 'audit', 'fixtures', 'seed-app.cjs');

describe('sockclose audit', () => {
  it('runs an unmodified server under the audit: the summary on stderr, the exit code is the command\'s', async () => {
    const { code, stdout, stderr } = await cli(['audit', '--', process.execPath, app]).exit(30_000);
    expect(stdout.trim()).toBe('complete 0 of 10');
    expect(stderr).toMatch(/^sockclose audit \(pid \d+, exit\): 10 of 10 connections ended with RST while the client had not received [\d.]+ [kM]B of responses(?: \([\d.]+ [kM]?B more sent but not acknowledged, at risk\))?; enable lingering close\.$/m);
    expect(code).toBe(0);
    const failing = await cli(['audit', process.execPath, '-e', 'process.exit(9)']).exit(30_000);
    expect(failing.code).toBe(9);
    expect(failing.stderr).toBe('');
  });

  it('--file: JSON per process; a signal that ends the command is 128 + n', async () => {
    const dir = tempDir('sockclose-audit-cli-');
    try {
      const { code, stderr } = await cli(['audit', '--file', path.join(dir, 'a-%p.json'), '--', process.execPath, app]).exit(30_000);
      expect([code, stderr]).toEqual([0, '']);
      const [file] = fs.readdirSync(dir);
      expect(JSON.parse(fs.readFileSync(path.join(dir, file!), 'utf8'))).toMatchObject({ servers: 1, counts: { closed: 10, resetsWithData: 10 } });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const killed = await cli(['audit', '--', process.execPath, '-e', "process.kill(process.pid, 'SIGTERM')"]).exit(30_000);
    expect(killed.code).toBe(128 + 15);
  });

  it('usage errors (exit 2), a command that cannot start (127), and help', async () => {
    expect((await cli(['audit']).exit()).code).toBe(2);
    expect((await cli(['audit', '--bogus', 'x']).exit()).code).toBe(2);
    const missing = await cli(['audit', '--', path.join(root, 'no-such-command')]).exit();
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/could not start .*ENOENT/);
    const help = await cli(['audit', '--help']).exit();
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: sockclose audit/);
    expect((await cli(['--help']).exit()).stdout).toMatch(/audit -- COMMAND/);
  });
});

describe('sockclose audit: signals', () => {
  it('SIGTERM to sockclose reaches the command, which prints its report and ends by the signal: exit 143', async () => {
    const child = spawn(process.execPath, [MAIN, 'audit', '--', process.execPath, app], {
      env: { ...process.env, SEED_WAIT: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await within(new Promise<void>((resolve) => child.stdout.on('data', () => stdout.includes('ready') && resolve())), 20_000, 'the command to be ready');
      child.kill('SIGTERM');
      expect(await within(exited, 10_000, 'sockclose audit to end')).toBe(128 + 15);
      expect(stderr).toMatch(/^sockclose audit \(pid \d+, SIGTERM\): 10 of 10 connections ended with RST/m);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
