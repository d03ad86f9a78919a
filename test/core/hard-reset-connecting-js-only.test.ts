// Without the native binary, hardReset() of a socket still connecting waits for the connection as
// the native path does, then resets through Node's resetAndDestroy(): called twice, still one reset,
// published once on sockclose:hard-reset; a connect that fails resets nothing (not the next
// connection made on the socket after 'close' either: Node's own wait outlived the failed attempt);
// end() called after hardReset() does not turn the reset into a FIN.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { copyOfPackage } from '../helpers/package-copy.js';
import { root } from '../helpers/sockclose.js';

const run = promisify(execFile);
let copy: string;

beforeAll(() => {
  copy = copyOfPackage('sockclose-jsonly-connecting-');
});

afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

/** Runs test/fixtures/`fixture` against the copy (no binary: JavaScript-only); its JSON result. */
async function jsOnly<T>(fixture: string): Promise<T> {
  const env = { ...process.env, SOCKCLOSE_LIB: path.join(copy, 'lib', 'index.js') };
  delete env.SOCKCLOSE_BINARY;
  const { stdout } = await run(process.execPath, [path.join(root, 'test', 'fixtures', fixture)], { env, timeout: 20_000 });
  return JSON.parse(stdout) as T;
}

describe('hardReset() of a socket still connecting, JavaScript-only', () => {
  it('twice: resets the connection once and publishes it once on sockclose:hard-reset', async () => {
    const result = await jsOnly<{ native: boolean; calls: string[]; published: number[]; peerEnd: string | null }>('js-only-reset-connecting-twice.cjs');
    expect(result.native).toBe(false);
    expect(result.calls).toEqual(['ok', 'ok']);
    expect(result.peerEnd).toBe('ECONNRESET');
    expect(result.published).toEqual([-1]);
  });

  it('whose connect fails: resets nothing, a later connection on the same socket is left alone, nothing is published', async () => {
    const result = await jsOnly<{ native: boolean; errors: string[]; afterRefused: number; received: string; peerEnd: string | null; published: number[] }>(
      'js-only-reset-refused-then-reconnect.cjs',
    );
    expect(result.native).toBe(false);
    expect(result.errors).toEqual(['ECONNREFUSED']);
    expect(result.afterRefused).toBe(0);
    expect(result).toMatchObject({ received: 'hello', peerEnd: null, published: [] });
  });

  it('still resets a socket that end() was called on after hardReset(), before it connected', async () => {
    const result = await jsOnly<{ native: boolean; clientErrors: string[]; peerEnd: string | null; published: number[] }>('js-only-reset-connecting-then-end.cjs');
    expect(result).toEqual({ native: false, clientErrors: [], peerEnd: 'ECONNRESET', published: [-1] });
  });
});
