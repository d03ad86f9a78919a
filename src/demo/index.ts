// `npm run demo`: the seed 004 scenario closed three ways, side by side (see docs/lingering.md).

import { RESPONSE_BYTES, runMode, UNREAD_BYTES } from './seed004.js';
import type { DemoMode, DemoOptions, DemoReport } from './types.js';

export { formatDemo } from './format.js';
export type { DemoMode, DemoModeResult, DemoOptions, DemoReport } from './types.js';

const MODES: DemoMode[] = ['plain', 'hardReset', 'lingering'];
const DEFAULT_RUNS = 50;
const MAX_RUNS = 10_000;

/**
 * Runs the seed 004 scenario (a server sends 600,000 bytes and closes; the client had sent 4 bytes
 * the server never reads) with a plain close, `hardReset()` and a lingering close, one after the
 * other on loopback, and reports what the client received and how each connection really ended.
 *
 * @param options - `runs` per mode (default 50); `progress(done, total)` after each connection.
 * @returns The {@link DemoReport}; {@link formatDemo} renders it.
 * @throws RangeError `ERR_OUT_OF_RANGE` for a `runs` that is not an integer from 1 to 10,000.
 * @example
 * ```ts
 * const report = await runDemo({ runs: 20, progress: (done, total) => process.stderr.write(`${done}/${total}\r`) });
 * console.log(formatDemo(report));
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const { runs = DEFAULT_RUNS, progress } = options;
  if (!Number.isInteger(runs) || runs < 1 || runs > MAX_RUNS) {
    throw Object.assign(new RangeError(`The value of "options.runs" is out of range. It must be an integer >= 1 and <= ${MAX_RUNS}. Received ${String(runs)}`), {
      code: 'ERR_OUT_OF_RANGE',
    });
  }
  const started = performance.now();
  const total = runs * MODES.length;
  let done = 0;
  const modes = [];
  for (const mode of MODES) {
    modes.push(
      await runMode(mode, runs, () => {
        done += 1;
        progress?.(done, total);
      }),
    );
  }
  return { responseBytes: RESPONSE_BYTES, unreadBytes: UNREAD_BYTES, runs, modes, durationMs: performance.now() - started };
}
