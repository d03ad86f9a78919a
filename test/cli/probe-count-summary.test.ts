// probe --count N --json prints a summary object ("with --count: a summary object", probe --help),
// whatever N: a script that runs `probe --count "$N" --json` reads one shape, N = 1 included.
// Without --count, one probe prints its result.
import { describe, expect, it } from 'vitest';

import { run, startListening, stoppedAfterEach } from './cli.js';

const running = stoppedAfterEach();

describe('sockclose probe --count 1', () => {
  it('--json: the summary, as for any --count; without --count: the one result', async () => {
    const { address } = await startListening(running, ['serve', '--behavior', 'reset-after-bytes', '--bytes', '100', '--await-request', '--quiet']);
    const counted = await run(['probe', address, '--send', '1', '--count', '1', '--json']);
    expect(counted.code, counted.stderr).toBe(3);
    expect(JSON.parse(counted.stdout)).toMatchObject({ runs: 1, requested: 1, outcomes: { rst: 1 }, results: [{ outcome: 'rst', received: 100 }] });

    const single = await run(['probe', address, '--send', '1', '--json']);
    expect(single.code, single.stderr).toBe(3);
    expect(JSON.parse(single.stdout)).toMatchObject({ outcome: 'rst', received: 100 });
  });

  it('for people: the summary line', async () => {
    const { address } = await startListening(running, ['serve', '--behavior', 'reset-after-bytes', '--bytes', '100', '--await-request', '--quiet']);
    const counted = await run(['probe', address, '--send', '1', '--count', '1']);
    expect(counted.code, counted.stderr).toBe(3);
    expect(counted.stdout.split('\n')[0]).toBe('1 of 1 probes: rst 1');
  });
});
