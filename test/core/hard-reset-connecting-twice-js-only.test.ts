// Without the native binary, hardReset() of a socket still connecting goes through Node's
// resetAndDestroy(). Called twice before the connection is made, it is still one reset, and
// sockclose:hard-reset publishes it once, as the native path does (its second call is a no-op).
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
  copy = copyOfPackage('sockclose-jsonly-twice-');
});

afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

describe('hardReset() twice on a connecting socket, JavaScript-only', () => {
  it('resets the connection once and publishes it once on sockclose:hard-reset', async () => {
    const env = { ...process.env, SOCKCLOSE_LIB: path.join(copy, 'lib', 'index.js') };
    delete env.SOCKCLOSE_BINARY;
    const { stdout } = await run(process.execPath, [path.join(root, 'test', 'fixtures', 'js-only-reset-connecting-twice.cjs')], { env, timeout: 20_000 });
    const result = JSON.parse(stdout) as { native: boolean; calls: string[]; published: number[]; peerEnd: string | null };
    expect(result.native).toBe(false);
    expect(result.calls).toEqual(['ok', 'ok']);
    expect(result.peerEnd).toBe('ECONNRESET');
    expect(result.published).toEqual([-1]);
  });
});
