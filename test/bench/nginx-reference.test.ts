// bench:linger-nginx's premise, on real nginx (Debian's nginx-light): the reference figure it gives
// for bench:linger-throughput compares nginx lingering every connection with nginx closing at once,
// so `lingering_close always` must still hold a socket after a request read whole and its FIN, and
// `lingering_close on` (nginx's default) must have closed it. The figure itself needs wrk and a quiet
// machine: the bench's business, not a test's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { requireTool } from '../interop/tools.js';
import { runNode } from '../helpers/run-node.js';
import { root } from '../helpers/sockclose.js';

const benchPath = path.join(root, 'bench', 'lingering', 'nginx-reference.mjs');
const ownDirs = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('sockclose-nginx-'));

describe('bench:linger-nginx', () => {
  it('refuses a count that is not a positive integer, before starting anything', async () => {
    for (const [name, value] of [['--rounds', '0'], ['--duration', 'x'], ['--connections', '1.5']]) {
      const { code, stderr } = await runNode([benchPath, name, value], { cwd: root, timeoutMs: 20_000 });
      expect(code, stderr).toBe(2);
      expect(stderr).toContain(`bench:linger-nginx: ${name} must be a positive integer`);
    }
  });

  it('--probe-only: nginx closes a request read whole at once under "on", lingers under "always"; its directory is removed', async () => {
    requireTool('nginx');
    const before = ownDirs();
    const { code, stdout, stderr } = await runNode([benchPath, '--probe-only'], { cwd: root, timeoutMs: 60_000 });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("premise: after a request read whole and nginx's FIN, lingering_close on has closed it, always still holds it (lingering)\n");
    expect(stdout).not.toContain('round  order');
    expect(ownDirs().filter((name) => !before.includes(name))).toEqual([]);
  });
});
