// native/sys_aix.cc, compiled for this Linux machine (it is POSIX-only) and run under the AIX
// error-state emulation: what AIX code would gather about a reset connection, read by
// src/platform/aix.ts. This checks the file's C++ and its logic, not AIX's headers or kernel.
import { execFile } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildAixLayer, removeAixLayers } from './aix-layer.js';
import { childEnv, emulationLibrary, removeEmulationLibrary } from './emulation.js';

afterAll(() => {
  removeAixLayers();
  removeEmulationLibrary();
});

const run = promisify(execFile);
const PROBE = path.join(import.meta.dirname, 'fixtures', 'error-state-probe.cjs');
const { EINVAL, ECONNRESET } = constants.errno;
const FAMILY_INET = 1;
const TYPE_STREAM = 1;

interface LayerResult {
  binary: string;
  reset: {
    socknameErrno: number;
    aixVerdict: Record<string, unknown>;
    aixCloseWouldReset: boolean;
    unreadBytes: number | null;
    layer: { family: number; type: number; listening: number; state: number };
    rawFdLinger: { enabled: boolean; seconds: number; emulated: boolean };
  };
  afterTake: { takenCode: string | null };
  readAfterReset: string;
}

async function probe(binary: string, library: string | null): Promise<LayerResult> {
  const { stdout } = await run(process.execPath, [PROBE], { env: childEnv(library, { SOCKCLOSE_BINARY: binary }), timeout: 30_000 });
  return JSON.parse(stdout) as LayerResult;
}

describe('the AIX native layer (sys_aix.cc) on Linux, under the AIX emulation', () => {
  let binary: string;
  let emulated: LayerResult;
  let plain: LayerResult;

  beforeAll(async () => {
    binary = await buildAixLayer();
    [emulated, plain] = await Promise.all([probe(binary, await emulationLibrary()), probe(binary, null)]);
  }, 180_000);

  it('is the binary loaded', () => {
    expect(emulated.binary).toBe(binary);
    expect(plain.binary).toBe(binary);
  });

  it('describes a reset socket as AIX would: stream, family unknown (getsockname fails), no TCP state', () => {
    expect(emulated.reset.layer).toEqual({ family: -1, type: TYPE_STREAM, listening: 0, state: -1 });
    expect(emulated.reset.socknameErrno).toBe(EINVAL);
    // A raw descriptor in that state still resolves as TCP (getLinger refuses anything else).
    expect(emulated.reset.rawFdLinger).toEqual({ enabled: false, seconds: 0, emulated: false });
  });

  it("counts the bytes still readable (FIONREAD), and src/platform/aix.ts names the reset from getsockname's EINVAL", () => {
    expect(emulated.reset.unreadBytes).toBe(5);
    expect(emulated.reset.aixVerdict).toEqual({ errno: ECONNRESET, syscall: 'getsockname', inferred: true });
    expect(emulated.reset.aixCloseWouldReset).toBe(false);
    expect(emulated.afterTake.takenCode).toBe('ECONNRESET');
    expect(emulated.readAfterReset).toBe('hello');
  });

  it('without the emulation the same layer sees an ordinary socket: family known, no error state', () => {
    expect(plain.reset.layer).toEqual({ family: FAMILY_INET, type: TYPE_STREAM, listening: 0, state: -1 });
    expect(plain.reset.socknameErrno).toBe(0);
    expect(plain.reset.aixVerdict).toEqual({ errno: 0, syscall: 'poll', unnamed: true });
  });
});
