// The main help names exactly the commands that take --json: each of them accepts it, and audit
// (which runs another program, its output untouched) is not claimed to.
import { describe, expect, it } from 'vitest';

import { run } from './cli.js';

describe('sockclose --help: --json', () => {
  it('the commands it says take --json accept it; audit, which refuses it, is not among them', async () => {
    const { stdout } = await run(['--help']);
    const claim = /^(.*) take --json/m.exec(stdout);
    expect(claim, stdout).not.toBeNull();
    const named = claim![1]!.split(/,\s*|\s+and\s+/).filter((word) => word !== '');
    expect(named.sort()).toEqual(['demo', 'probe', 'proxy', 'serve']);
    for (const command of named) expect((await run([command, '--json', '--help'])).code, command).toBe(0);
    const audit = await run(['audit', '--json', '--', 'true']);
    expect(audit.code).toBe(2);
    expect(audit.stderr).toContain("unknown option '--json'");
  });
});
