// The AIX error-state emulation itself: under it, and only under it, getsockname() fails with EINVAL
// on a TCP connection the peer reset, and on nothing else; it never consumes the pending error; the
// bytes received before the reset stay readable (all as seed 000 / libuv issue 3481 describe AIX).
// The same run shows what src/platform/aix.ts makes of such a socket, from real probe records.
import { execFile } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { childEnv, emulationLibrary, removeEmulationLibrary } from './emulation.js';

afterAll(removeEmulationLibrary);

const run = promisify(execFile);
const PROBE = path.join(import.meta.dirname, 'fixtures', 'error-state-probe.cjs');
const { EINVAL, ECONNRESET } = constants.errno;

interface ProbeResult {
  emulation: boolean;
  healthy: { libuv: number; socknameErrno: number };
  listeningSocknameErrno: number;
  unixSocknameErrno: number;
  reset: {
    libuv: number;
    socknameErrno: number;
    socknameErrnoAgain: number;
    aixVerdict: Record<string, unknown>;
    aixCloseWouldReset: boolean;
    unreadBytes: number;
  };
  afterTake: { takenCode: string | null; socknameErrno: number };
  readAfterReset: string;
}

async function probe(library: string | null): Promise<ProbeResult> {
  const { stdout } = await run(process.execPath, [PROBE], { env: childEnv(library), timeout: 30_000 });
  return JSON.parse(stdout) as ProbeResult;
}

describe('the LD_PRELOAD emulation of the AIX error state', () => {
  let emulated: ProbeResult;
  let plain: ProbeResult;

  beforeAll(async () => {
    const library = await emulationLibrary();
    [emulated, plain] = await Promise.all([probe(library), probe(null)]);
  });

  it('fails getsockname() with EINVAL on a reset TCP connection, repeatably, for libuv too', () => {
    expect(emulated.emulation).toBe(true);
    expect(emulated.reset.socknameErrno).toBe(EINVAL);
    expect(emulated.reset.socknameErrnoAgain).toBe(EINVAL);
    expect(emulated.reset.libuv).toBe(-EINVAL);
  });

  it('leaves healthy, listening and AF_UNIX sockets alone', () => {
    expect(emulated.healthy).toEqual({ libuv: 0, socknameErrno: 0 });
    expect(emulated.listeningSocknameErrno).toBe(0);
    expect(emulated.unixSocknameErrno).toBe(0);
  });

  it('is the cause: without it the same reset socket answers getsockname() normally', () => {
    expect(plain.emulation).toBe(false);
    expect(plain.reset.socknameErrno).toBe(0);
    expect(plain.reset.libuv).toBe(0);
  });

  it('never consumes the pending error, and the bytes sent before the reset stay readable', () => {
    expect(emulated.reset.unreadBytes).toBe(5);
    expect(emulated.afterTake.takenCode).toBe('ECONNRESET');
    expect(emulated.readAfterReset).toBe('hello');
  });

  it('differs from AIX as documented: once Linux consumes the error, getsockname() succeeds again', () => {
    expect(emulated.afterTake.socknameErrno).toBe(0);
  });

  it("drives src/platform/aix.ts: peek names ECONNRESET from getsockname's EINVAL; close would not reset", () => {
    expect(emulated.reset.aixVerdict).toEqual({ errno: ECONNRESET, syscall: 'getsockname', inferred: true });
    // A connection in the error state has nothing left to reset, unread bytes or not.
    expect(emulated.reset.aixCloseWouldReset).toBe(false);
    // Without the sign, the AIX module falls back to POLLERR, which it cannot name.
    expect(plain.reset.aixVerdict).toEqual({ errno: 0, syscall: 'poll', unnamed: true });
    expect(plain.reset.aixCloseWouldReset).toBe(true);
  });
});
