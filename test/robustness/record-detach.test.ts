// Issue 13 item 2: the probe record's ArrayBuffer detached through sockclose's internals
// (ArrayBuffer.prototype.transfer, structuredClone or postMessage with a transfer list). The addon
// must never write through a stale pointer: every probe refuses with ERR_SOCKCLOSE_NATIVE_STATE,
// nothing else breaks, and a fresh record attached afterwards works. Each case runs in a child
// process (a crash there is a failed exit status here); under `npm run test:asan` the child runs
// with the sanitizers too, and a write into freed memory is a heap-use-after-free report.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fixture = path.join(import.meta.dirname, 'fixtures', 'detach-record.cjs');

interface DetachReport {
  how: string;
  before: string;
  detach: 'detached' | 'unavailable';
  lengthAfter: number;
  calls: Record<string, number>;
  fillerIntact: boolean;
  afterReattach: string;
  freshFilled: boolean;
}

const ROUNDS = 200;

describe('a detached probe record', () => {
  it.for(['structuredClone', 'postMessage', 'transfer'])('detached by %s: probes refuse with a coded error, nothing is written into freed memory', async (how, context) => {
    const { stdout } = await run(process.execPath, ['--expose-gc', fixture, how], { timeout: 60_000 });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as DetachReport;
    expect(report.before).toBe('returned 0');
    if (report.detach === 'unavailable') {
      // ArrayBuffer.prototype.transfer arrived in Node 21; nothing to detach it with here. Nothing
      // of the title was checked: reported as skipped, not passed.
      expect(how).toBe('transfer');
      expect(typeof (new ArrayBuffer(8) as ArrayBuffer & { transfer?: unknown }).transfer).toBe('undefined');
      context.skip();
    }
    expect(report.lengthAfter).toBe(0);
    expect(report.calls).toEqual({
      'binding.probe threw ERR_SOCKCLOSE_NATIVE_STATE': ROUNDS,
      'inspectSocket threw ERR_SOCKCLOSE_NATIVE_STATE': ROUNDS,
      'peekSocketError(fd) threw ERR_SOCKCLOSE_NATIVE_STATE': ROUNDS,
      'closeWouldReset threw ERR_SOCKCLOSE_NATIVE_STATE': ROUNDS,
      // No probe in these: they keep working (a healthy socket's peek is the poll screen alone).
      'peekSocketError(socket) returned null': ROUNDS,
      'setLinger returned undefined': ROUNDS,
      'getLinger returned an object': ROUNDS,
    });
    expect(report.fillerIntact).toBe(true);
    expect(report.afterReattach).toBe('returned 0');
    expect(report.freshFilled).toBe(true);
  });
});
