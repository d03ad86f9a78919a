// An unknown option to probe (the one command with a positional argument, host:port): the message
// names the option and stops there. Node's parseArgs adds advice for positionals that start with
// '-' (`-- "--bogus"`, its quote unclosed), which probe's host:port never does: taken, it only
// leads to "one host:port only".
import { describe, expect, it } from 'vitest';

import { run } from './cli.js';

describe('sockclose probe: an unknown option', () => {
  it.each([
    [['probe', '127.0.0.1:1', '--bogus'], "sockclose probe: unknown option '--bogus'\n"],
    [['probe', '-x', '127.0.0.1:1'], "sockclose probe: unknown option '-x'\n"],
  ])('%j: exit 2, the option named, no advice about positionals', async (args, first) => {
    const { code, stdout, stderr } = await run(args);
    expect(code, stderr).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`${first}Try 'sockclose probe --help'.\n`);
  });
});
