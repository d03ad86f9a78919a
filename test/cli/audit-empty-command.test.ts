// sockclose audit with an empty command name (`sockclose audit -- "$SERVER_CMD"` with the variable
// unset): a bad command line, exit 2 with one line, not "unexpected error" with Node's stack (exit 1).
import { describe, expect, it } from 'vitest';

import { run } from './cli.js';

describe('sockclose audit: an empty command', () => {
  it.each([[['audit', '--', '']], [['audit', '']], [['audit', '--', '', 'server.js']]])('%j: exit 2, says so, no stack', async (args) => {
    const { code, stdout, stderr } = await run(args);
    expect(code, stderr).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe("sockclose audit: no command to run: its name is empty (sockclose audit -- <command> [args...])\nTry 'sockclose audit --help'.\n");
  });
});
