// An 'overload' that follows a flush: a close whose response Node still held flushed it first,
// dropping and counting what the peer sent meanwhile, then found no descriptor for the linger
// (dup() failing with EMFILE) and closed at once. The report said drainedBytes 0, and the
// server's stats().drainedBytes lost the bytes the flush had read.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

const fixture = path.join(import.meta.dirname, 'fixtures', 'emfile-after-flush.cjs');

describe("an 'overload' after a flush that drained input", () => {
  it('reports and counts the bytes the flush drained', () => {
    // Without NODE_EXTRA_CA_CERTS: Node may load that file while the fixture holds every descriptor.
    const { NODE_EXTRA_CA_CERTS: _extraCerts, ...env } = process.env;
    // The child fills its own descriptor table (ulimit -n 64) while the flush runs.
    const result = spawnSync('bash', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${fixture}"`], { encoding: 'utf8', timeout: 30_000, env });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const { report, sent, stats } = JSON.parse(result.stdout) as {
      report: { reason: string; drainedBytes: number; code: string; syscall: string };
      sent: number;
      stats: { drainedBytes: number; reasons: Record<string, number> };
    };
    expect(report).toEqual({ reason: 'overload', drainedBytes: sent, code: 'EMFILE', syscall: 'dup' });
    expect(stats.reasons).toMatchObject({ eof: 1, overload: 1 });
    expect(stats.drainedBytes).toBe(sent);
  });
});
