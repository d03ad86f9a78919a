// The demo (`npm run demo`): its contract with the CLI (runDemo / formatDemo), and that it shows
// what it claims on real sockets.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);
const { runDemo, formatDemo } = require(path.join(root, 'lib', 'demo', 'index.js')) as typeof import('../../lib/demo/index.js');
// The module instance the demo's lingering close counts in (lib/demo loads lib/lingering directly).
const { lingeringCloseStats } = require(path.join(root, 'lib', 'lingering', 'index.js')) as typeof import('../../lib/lingering/index.js');

describe('demo', () => {
  it('runs the three ways of closing, with progress, and the lingering close loses nothing', async () => {
    const seen: [number, number][] = [];
    const eofBefore = lingeringCloseStats().reasons.eof;
    const report = await runDemo({ runs: 10, progress: (done, total) => seen.push([done, total]) });
    // Every linger has ended by then (the CLI exits right after: none is cut short), each at the client's FIN.
    expect(lingeringCloseStats()).toMatchObject({ lingering: 0 });
    expect(lingeringCloseStats().reasons.eof - eofBefore).toBe(10);
    expect(seen).toHaveLength(30);
    expect(seen.at(-1)).toEqual([30, 30]);
    expect(report.modes.map((result) => result.mode)).toEqual(['plain', 'hardReset', 'lingering']);

    const [plain, reset, lingering] = report.modes;
    expect(lingering).toMatchObject({ runs: 10, completeRuns: 10, meanBytes: 600_000, endedWithFin: 10, endedWithReset: 0, failures: 0 });
    // An abortive close: every connection ends with RST and leaves no TIME_WAIT.
    expect(reset).toMatchObject({ endedWithReset: 10, timeWaitLeft: 0 });
    // The lingering server closed first: one TIME_WAIT per connection, as any graceful closer.
    expect(lingering!.timeWaitLeft).toBe(10);
    // Whatever the plain close did this time, the counts add up.
    expect(plain!.endedWithFin + plain!.endedWithReset).toBe(10);
    expect(plain!.resetsNodeCalledClean).toBeLessThanOrEqual(plain!.endedWithReset);

    const table = formatDemo(report);
    expect(table).toMatch(/^plain close\s/m);
    expect(table).toMatch(/^hardReset\s/m);
    expect(table).toMatch(/^lingering close\s+all, every run \(600,000\)\s+FIN 10\/10\s+10$/m);
  });

  it('rejects a bad run count', async () => {
    await expect(runDemo({ runs: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(runDemo({ runs: 1.5 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });

  it('npm run demo: the table on stdout; progress on stderr only when asked (not a terminal); exit code 0', async () => {
    const demo = (...args: string[]) =>
      promisify(execFile)(process.execPath, [path.join(root, 'lib', 'demo', 'main.js'), '--runs', '5', ...args], { timeout: 60_000 });
    const quiet = await demo();
    expect(quiet.stdout).toMatch(/^lingering close\s.*FIN 5\/5/m);
    expect(quiet.stderr).not.toContain('connections');
    const asked = await demo('--progress');
    expect(asked.stderr).toContain('connections: 15/15');
  });
});
