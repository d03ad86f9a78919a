// bench:linger-cost end to end, small: the bench (bench/lingering/cost.mjs) and its servers
// (cost-server.mjs) talk a protocol of their own ('cpu', 'look', 'drained'), which nothing else
// exercises. No figure is judged here (timings on a shared machine are the bench's business, as
// ratios): only that every round ran, that the lingering server lingered every connection to its
// idle timeout, all of them at once, closing as its --on-timeout says, and that the heap rounds
// followed the CPU rounds.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runNode } from '../helpers/run-node.js';
import { root } from '../helpers/sockclose.js';

/** The lines of one N's block of the bench's output. */
function block(stdout: string, n: number): string[] {
  const lines = stdout.split('\n');
  const start = lines.indexOf(`N = ${n}`);
  if (start < 0) return [];
  const end = lines.findIndex((line, index) => index > start && line.startsWith('N = '));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

describe('bench:linger-cost', () => {
  it.each([
    ['reset', [30, 50]],
    ['close', [30]],
  ] as const)('onTimeout %s: runs its CPU rounds, then its heap rounds, for each N; every connection lingers, all at once, and ends as the policy says', async (onTimeout, sizes) => {
    // All N must linger at once, the first not idled out before the last response is in: an idle
    // timeout of 1 s, not 400 ms, which a ~400 ms stall of the bench or its server amid a round's
    // connections would use up ("not measured at N at once"); 0.6 s more a lingering round.
    const { code, stdout, stderr } = await runNode(
      [path.join(root, 'bench', 'lingering', 'cost.mjs'), '--n', sizes.join(','), '--rounds', '2', '--heap-rounds', '1', '--idle', '1000', '--on-timeout', onTimeout, '--check'],
      { cwd: root, timeoutMs: 50_000 },
    );
    // --check exits 1 when a target is missed, 0 when met: either is a completed run.
    expect([0, 1], stderr).toContain(code);
    expect(stdout).not.toMatch(/not measured/i);
    for (const n of sizes) {
      const lines = block(stdout, n);
      const cpuHeader = lines.findIndex((line) => line.startsWith('round  order') && line.includes('CPU µs/conn'));
      const heapHeader = lines.findIndex((line) => line.startsWith('heap   order'));
      expect(cpuHeader, stdout).toBeGreaterThanOrEqual(0);
      expect(heapHeader, stdout).toBeGreaterThan(cpuHeader);
      // Each round's line says how many lingered at once: all N, in every CPU and heap round.
      const atOnce = new RegExp(`\\(\\s*${n}\\)`);
      const cpuRounds = lines.slice(cpuHeader + 1, heapHeader).filter((line) => /^\s+\d+\s+(plain|lingering) → /.test(line));
      const heapRounds = lines.slice(heapHeader + 1).filter((line) => /^\s+\d+\s+(plain|lingering) → /.test(line));
      expect(cpuRounds, stdout).toHaveLength(2);
      expect(heapRounds, stdout).toHaveLength(1);
      for (const line of [...cpuRounds, ...heapRounds]) expect(line).toMatch(atOnce);
      // Both verdicts were reached (met or missed), neither NOT MEASURED.
      const verdict = lines.find((line) => line.startsWith('median: CPU per connection'));
      expect(verdict, stdout).toMatch(/target <= 1\.2: (met|MISSED)\).*target <= 500: (met|MISSED)\)/);
    }
    // The policy it ran (and checked: a close that went otherwise would be NOT MEASURED above).
    expect(stdout).toContain(`(onTimeout '${onTimeout}')`);
    expect(stdout).toContain(`idle-timeout ${onTimeout === 'reset' ? 'resets' : 'closes'})`);
  });

  it('refuses an onTimeout it does not know', async () => {
    const { code, stderr } = await runNode([path.join(root, 'bench', 'lingering', 'cost.mjs'), '--on-timeout', 'linger'], { cwd: root, timeoutMs: 20_000 });
    expect(code).toBe(2);
    expect(stderr).toContain('--on-timeout takes reset or close (got linger)');
  });
});
