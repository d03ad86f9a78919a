// bench:close-steps end to end, small: its C program (bench/lingering/close-steps.c) checks that
// each step did what it is named for (nothing ready at the timeout's last look, an RST at every
// client after the reset step and at none after the others) and exits 1 otherwise; here,
// that every step ran and printed a figure. No figure is judged (timings are the bench's business).
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runNode } from '../helpers/run-node.js';
import { root } from '../helpers/sockclose.js';

describe.runIf(process.platform === 'linux')('bench:close-steps', () => {
  it('runs every step on real loopback connections and prints a figure for each, and the totals', async () => {
    const { code, stdout, stderr } = await runNode([path.join(root, 'bench', 'lingering', 'close-steps.mjs'), '--n', '40', '--rounds', '1'], { cwd: root, timeoutMs: 50_000 });
    expect(code, stderr).toBe(0);
    for (const step of ['plain-close', 'handover', 'first-look', 'timeout-reset', 'timeout-close', 'timeout-reset, no waiter']) {
      expect(stdout).toMatch(new RegExp(`^${step}\\s+(warm|cold)\\s+\\d+\\.\\d\\d µs`, 'm'));
    }
    expect(stdout).toMatch(/^onTimeout 'reset': the lingerer's steps \d+\.\d\d µs/m);
    expect(stdout).toMatch(/^onTimeout 'close': the lingerer's steps \d+\.\d\d µs/m);
  });
});
