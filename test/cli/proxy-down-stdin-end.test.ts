// sockclose proxy --control: `down` closes the listener and every connection. Once stdin has
// reached its end too (`printf 'down\n' | sockclose proxy ...`), nothing of the proxy holds the
// event loop; the command must still run until a signal or --count stops it, as documented, not
// end by itself with exit 0 ("stopped by a signal or --count") and without its last line.
import { describe, expect, it } from 'vitest';

import { cli, stoppedAfterEach } from './cli.js';

const running = stoppedAfterEach();

describe('sockclose proxy --control: down, then stdin at its end', () => {
  it('still runs until SIGTERM: exit 0 with the last "closed" line', async () => {
    // Port 9 (discard): never connected to, the proxy is taken down before any client comes.
    const proc = cli(['proxy', '--upstream', '127.0.0.1:9', '--control', '--json']);
    running.push(proc);
    expect(await proc.json()).toMatchObject({ event: 'listening' });
    proc.child.stdin.end('down\n');
    // The answer is the last thing the command does for `down`: a process about to end by itself
    // has ended (or can no longer run a signal handler) by the time it is read here.
    expect(await proc.json()).toMatchObject({ event: 'toxics', ok: true, enabled: false });
    proc.child.kill('SIGTERM');
    const { code, stdout } = await proc.exit(10_000);
    expect(stdout === '' ? null : JSON.parse(stdout), `exit ${code} with no "closed" line: it ended by itself`).toMatchObject({
      event: 'closed',
      reason: 'SIGTERM',
    });
    expect(code).toBe(0);
  });
});
