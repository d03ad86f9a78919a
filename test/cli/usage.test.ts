// The CLI's contract with scripts: --help everywhere, exit code 2 with a clear message for every
// mistake on the command line, --version.
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';
import { run } from './cli.js';

describe('sockclose CLI: help and usage errors', () => {
  it('--help lists the commands and the exit codes', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    for (const word of ['demo', 'serve', 'proxy', 'probe', 'Exit codes:', '130']) expect(stdout).toContain(word);
  });

  it('with no command: the help on stderr, exit 2', async () => {
    const { code, stdout, stderr } = await run([]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Usage: sockclose <command>');
  });

  it.each([
    ['serve', ['reset-on-accept', 'fin-then-reset', 'lingering-close', '--behavior']],
    ['proxy', ['reset_peer', 'limit_data', 'slow_close', 'bandwidth', 'slicer', 'bandwidth:rate=', 'slicer:average_size=', '| down', '| up', '--toxic', '--control']],
    ['probe', ['--send', '--expect', '--timeout']],
    ['demo', ['--runs']],
  ])('%s --help (and help %s) describe every option', async (command, words) => {
    for (const args of [[command, '--help'], ['help', command]]) {
      const { code, stdout, stderr } = await run(args);
      expect(code, stderr).toBe(0);
      for (const word of words) expect(stdout).toContain(word);
    }
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: version });
  });

  it.each([
    [['explode'], "unknown command 'explode'"],
    [['serve'], '--behavior is required'],
    [['serve', '--behavior', 'explode'], '--behavior must be one of'],
    [['serve', '--behavior', 'stall', '--bogus'], "unknown option '--bogus'"],
    [['serve', '--behavior', 'stall', '--count', 'ten'], '--count must be a whole number'],
    [['serve', '--behavior', 'stall', '--delay', '-5'], '--delay takes no negative number (got -5)'],
    [['serve', '--behavior', 'lingering-close', '--linger-idle', '0'], '--linger-idle must be at least 1, not 0'],
    [['serve', '--behavior', 'echo', '--response-bytes', String(2 ** 40)], '--response-bytes must be at most'],
    [['serve', '--behavior', 'close', '--linger-max', '0'], '--linger-max must be at least 1, not 0'],
    [['probe', '127.0.0.1:1', '-s', '-4'], '-s takes no negative number (got -4)'],
    [['probe', '127.0.0.1:1', '--send', '--json'], "--send needs a value, not the option '--json'"],
    [['probe', '127.0.0.1:1', '--count', '0'], '--count must be at least 1, not 0'],
    [['proxy', '--upstream', '127.0.0.1:1', '--count', '0'], '--count must be at least 1, not 0'],
    [['probe', '127.0.0.1:1', '--count', '1000001'], '--count must be at most 1000000'],
    [['serve', '--behavior', 'stall', '--listen', 'nowhere'], '--listen must look like host:port'],
    [['serve', '--behavior', 'stall', 'extra'], "unexpected argument 'extra'"],
    [['proxy'], '--upstream is required'],
    [['proxy', '--upstream', '127.0.0.1:1', '--toxic', 'explode'], "--toxic 'explode'"],
    [['proxy', '--upstream', '127.0.0.1:1', '--toxic', 'latency:jitter'], "--toxic 'latency:jitter'"],
    [['probe'], 'which server?'],
    [['probe', '127.0.0.1:0'], 'the server to probe must look like host:port'],
    [['probe', 'localhost'], "the server to probe must look like host:port, [::1]:port or a port, not 'localhost'"],
    [['probe', '127.0.0.1:1', '--expect', 'maybe'], '--expect must be one of'],
    [['probe', '127.0.0.1:1', '--send', '4', '--send-text', 'x'], 'contradict'],
    [['probe', '127.0.0.1:1', '--progress', '--no-progress'], 'contradict'],
  ])('%j: exit 2, says what is wrong, points to --help', async (args, message) => {
    const { code, stdout, stderr } = await run(args);
    expect(code, stderr).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr).toMatch(/Try 'sockclose( \w+)? --help'/);
  });
});
