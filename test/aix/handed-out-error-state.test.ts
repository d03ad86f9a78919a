// IBM i: fstat() fails with EINVAL on a socket the peer reset (libuv 5ec89b8c5), while the socket
// and its number live on. native/handed_out.cc identifies a handed-out number with fstat(): a
// failure there must not read as "closed", or every other thread takes a number a live Node socket
// still holds for a free one (hardReset(fd) would close it, and the kernel give it to the next
// socket while the owning thread's handle still acts on it). Emulated on Linux by
// aix_reset_emulation.c with SOCKCLOSE_EMULATE_IBMI_FSTAT=1; the same run without it is the
// reference.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';
import { childEnv, emulationLibrary, removeEmulationLibrary } from './emulation.js';

const run = promisify(execFile);
const fixture = path.join(root, 'test', 'aix', 'fixtures', 'handed-out-error-state.cjs');
const { binding } = (await import(path.join(root, 'lib', 'native', 'binding.js'))) as typeof import('../../lib/native/binding.js');

afterAll(() => removeEmulationLibrary());

async function look(emulateFstat: boolean) {
  const library = await emulationLibrary();
  const extra: Record<string, string> = emulateFstat ? { SOCKCLOSE_EMULATE_IBMI_FSTAT: '1' } : {};
  const env = childEnv(library, extra);
  // Under `npm run test:asan` the sanitizer runtime must stay first in the child's preloads.
  const sanitizer = process.env.LD_PRELOAD?.split(/[:\s]+/).find((entry) => entry.includes('libasan'));
  if (sanitizer) env.LD_PRELOAD = `${sanitizer}:${library}`;
  const { stdout } = await run(process.execPath, [fixture], { env, timeout: 30_000 });
  return JSON.parse(stdout) as { emulation: boolean; healthy: number; reset: Record<string, unknown>; closed: number };
}

describe.skipIf(process.platform !== 'linux' || binding() === null)('a handed-out number in the error state', () => {
  it.each([false, true])('fstat() failing (IBM i: %s) still reads as held while Node holds it', async (emulateFstat) => {
    const out = await look(emulateFstat);
    expect(out).toEqual({
      emulation: emulateFstat,
      healthy: 1,
      reset: { socketHoldsFd: true, held: 1, heldAgain: 1 },
      closed: 0,
    });
  });
});
