// The native lingerer's first look on Linux (one TCP_INFO call against Node's byte counts) at a
// connection the kernel has already ended (CLOSE) with the peer's FIN counted: a clean end only if
// everything of ours was acknowledged as well. A retransmission timeout after the peer's FIN also
// leads to CLOSE, with our bytes unacknowledged: that connection failed, and the look must say so
// (a read then finds ETIMEDOUT), not 'eof'. Reached by no other test: it needs packet loss, so
// root; each case runs in a network namespace of its own (`unshare -n`), whose nftables rules drop
// the client's acknowledgements and whose tcp_retries2 makes the kernel give up within ~1 s.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { requireTool } from '../interop/tools.js';
import { root as repository } from '../helpers/sockclose.js';

const root = process.platform === 'linux' && process.getuid?.() === 0;
const fixture = path.join(repository, 'test', 'lingering', 'fixtures', 'first-look-after-timeout.cjs');

interface Outcome {
  report: { reason: string; closedWith: string; error: { code: string; errno: number; syscall: string } | null };
  stateAtHandOver: string;
  client: { bytes: number; ended: boolean; error: string | null };
}

async function run(mode: 'timed-out' | 'acknowledged'): Promise<Outcome> {
  const [unshare, ip, nft] = [requireTool('unshare'), requireTool('ip'), requireTool('nft')];
  const { stdout } = await promisify(execFile)(unshare, ['-n', process.execPath, fixture, mode, ip, nft], { timeout: 30_000 });
  return JSON.parse(stdout) as Outcome;
}

describe.runIf(root)('the first look at a connection the kernel ended (CLOSE) before the hand-over', () => {
  it("after a retransmission timeout (our response never acknowledged): 'error', ETIMEDOUT, not 'eof'", async () => {
    const outcome = await run('timed-out');
    expect(outcome.stateAtHandOver).toBe('CLOSE');
    expect(outcome.report).toEqual({ reason: 'error', closedWith: 'close', error: { code: 'ETIMEDOUT', errno: -110, syscall: 'read' } });
    // The response left (only the client's acknowledgements were lost); our FIN could not follow.
    expect(outcome.client).toEqual({ bytes: 1000, ended: false, error: null });
  });

  it("the control: the same connection with everything acknowledged ends as 'eof'", async () => {
    const outcome = await run('acknowledged');
    expect(outcome.stateAtHandOver).toBe('CLOSE_WAIT');
    expect(outcome.report).toEqual({ reason: 'eof', closedWith: 'close', error: null });
    expect(outcome.client).toEqual({ bytes: 1000, ended: true, error: null });
  });
});
