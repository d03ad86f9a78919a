// sockclose audit --file <path>: a path forgotten before `--` (`--file -- node server.js`), or an
// option where the path should be, is a bad command line (exit 2), as a missing value is for the
// other commands. It was taken as the path: the reports went to a file named '--' in the current
// directory, none on stderr, and the command ran.
import { describe, expect, it } from 'vitest';

import { run } from './cli.js';

// A command with no server: it writes no report, wherever the reports would go.
const COMMAND = [process.execPath, '-e', 'process.exit(3)'];

describe('sockclose audit --file: the value', () => {
  it.each([[['--file', '--']], [['-f', '--']], [['--file', '--help', '--']], [['-f', '-x', '--']]])(
    '%j before the command: exit 2 naming the flag; the command does not run',
    async (flags) => {
      const { code, stdout, stderr } = await run(['audit', ...flags, ...COMMAND]);
      expect(code, stderr).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(new RegExp(`^sockclose audit: ${flags[0]} needs a path`));
      expect(stderr).toContain("Try 'sockclose audit --help'.");
    },
  );

  it('a path given runs the command: its exit code', async () => {
    const { code, stderr } = await run(['audit', '--file', '/tmp/sockclose-audit-unused-%p.json', '--', ...COMMAND]);
    expect(code, stderr).toBe(3);
  });
});
