// A linger a bound ends under onTimeout 'reset' after both FINs (LAST_ACK), with our response and
// FIN all sent but not acknowledged: Linux's abortive close then sends no RST (tcp_disconnect()
// resets LAST_ACK and CLOSING only while bytes are unsent). The report said `closedWith: 'reset'`
// and stats() counted a reset all the same; nftables, counting the server's RSTs, showed none.
// Needs packet loss, so root: each case runs in a network namespace of its own (`unshare -n`),
// whose nftables rules drop the client's packets once its request (and FIN) arrived.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root as repository } from '../helpers/sockclose.js';
import { canMakeNetworkNamespaces, runInNetworkNamespace } from './namespace.js';

const fixture = path.join(repository, 'test', 'lingering', 'fixtures', 'abortive-close-after-fins.cjs');

interface Outcome {
  report: { reason: string; closedWith: string; unreadBytes: number };
  resets: number;
  rsts: number;
  client: { bytes: number; ended: boolean; error: string | null };
}

const run = (mode: 'peer-finished' | 'peer-open'): Promise<Outcome> => runInNetworkNamespace<Outcome>(fixture, mode);

describe.runIf(canMakeNetworkNamespaces)("an abortive close after both FINs, our bytes sent but unacknowledged (packet loss in a namespace)", () => {
  it("sends no RST on Linux, and the report says so: closedWith 'close', no reset counted", async () => {
    const outcome = await run('peer-finished');
    expect(outcome.report).toMatchObject({ reason: 'idle-timeout', closedWith: 'close', unreadBytes: 0 });
    expect(outcome.rsts).toBe(0);
    expect(outcome.resets).toBe(0);
    // Our response and FIN reached the client whole (only its acknowledgements were lost).
    expect(outcome.client).toEqual({ bytes: 1000, ended: true, error: null });
  });

  it("the control: with the peer's FIN not sent (FIN_WAIT1) the same close sends RST, reported and counted", async () => {
    const outcome = await run('peer-open');
    expect(outcome.report).toMatchObject({ reason: 'idle-timeout', closedWith: 'reset' });
    expect(outcome.rsts).toBe(1);
    expect(outcome.resets).toBe(1);
  });
});
