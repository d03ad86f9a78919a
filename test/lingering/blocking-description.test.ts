// The lingerer's reads never wait, whatever O_NONBLOCK says: the flag belongs to the open file
// description that Node's descriptor, the lingerer's duplicate and any child's copy share, and
// libuv clears it for a socket given to a child as stdio. The lingerer reads without asking the
// poller first (its first read, the last read before a deadline): a read that waited there stopped
// the loop's thread until the peer sent something, past every cap. The peer here sends only once
// the linger's report is in: a read that waits never returns, and the run's bound fails the test.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runNode } from '../helpers/run-node.js';
import { root } from '../helpers/sockclose.js';

const fixture = path.join(root, 'test', 'lingering', 'fixtures', 'blocking-description.cjs');

// /proc tells the fixture that the description really lost O_NONBLOCK.
describe.skipIf(process.platform !== 'linux')('a socket whose description is in blocking mode', () => {
  it('lingeringClose() ends at its idle timeout, its reads never waiting', async () => {
    const run = await runNode([fixture], { timeoutMs: 20_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toEqual({ blocking: true, reason: 'idle-timeout' });
  });
});
