// The native lingerer's first look on Linux (one TCP_INFO call against Node's byte counts) at a
// connection the kernel has already ended (CLOSE) with the peer's FIN counted: a clean end only if
// everything of ours was acknowledged as well. A retransmission timeout after the peer's FIN also
// leads to CLOSE, with our bytes unacknowledged: that connection failed, and the look must say so
// (a read then finds ETIMEDOUT), not 'eof'. Reached by no other test: it needs packet loss, so
// root; each case runs in a network namespace of its own (`unshare -n`), whose nftables rules drop
// the client's acknowledgements and whose tcp_retries2 makes the kernel give up within ~1 s.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root as repository } from '../helpers/sockclose.js';
import { canMakeNetworkNamespaces, runInNetworkNamespace } from './namespace.js';

const fixture = path.join(repository, 'test', 'lingering', 'fixtures', 'first-look-after-timeout.cjs');

interface Outcome {
  report: { reason: string; closedWith: string; error: { code: string; errno: number; syscall: string } | null };
  stateAtHandOver: string;
  client: { bytes: number; ended: boolean; error: string | null };
}

const run = (mode: 'timed-out' | 'acknowledged'): Promise<Outcome> => runInNetworkNamespace<Outcome>(fixture, mode);

describe.runIf(canMakeNetworkNamespaces)('the first look at a connection the kernel ended (CLOSE) before the hand-over', () => {
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
