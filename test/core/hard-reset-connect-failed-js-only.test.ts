// Without the native binary, hardReset() of a socket still connecting resets it once it connects;
// "if it never connects, there is nothing to reset (a connection made later on the same socket,
// after its 'close', is left alone)". Node's own resetAndDestroy() waits with a 'connect' listener
// that outlives a failed connect: the next connection made on the socket was reset at once, and
// sockclose:hard-reset published a reset nobody asked for.
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
  copy = copyOfPackage('sockclose-jsonly-refused-');
});

afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

describe('hardReset() of a socket whose connect then fails, JavaScript-only', () => {
  it('resets nothing: a later connection on the same socket is left alone, and nothing is published', async () => {
    const env = { ...process.env, SOCKCLOSE_LIB: path.join(copy, 'lib', 'index.js') };
    delete env.SOCKCLOSE_BINARY;
    const { stdout } = await run(process.execPath, [path.join(root, 'test', 'fixtures', 'js-only-reset-refused-then-reconnect.cjs')], { env, timeout: 20_000 });
    const result = JSON.parse(stdout) as { native: boolean; errors: string[]; afterRefused: number; received: string; peerEnd: string | null; published: number[] };
    expect(result.native).toBe(false);
    expect(result.errors).toEqual(['ECONNREFUSED']);
    expect(result.afterRefused).toBe(0);
    expect(result).toMatchObject({ received: 'hello', peerEnd: null, published: [] });
  });

  it('still resets a socket that end() was called on after hardReset(), before it connected', async () => {
    const env = { ...process.env, SOCKCLOSE_LIB: path.join(copy, 'lib', 'index.js') };
    delete env.SOCKCLOSE_BINARY;
    const { stdout } = await run(process.execPath, [path.join(root, 'test', 'fixtures', 'js-only-reset-connecting-then-end.cjs')], { env, timeout: 20_000 });
    const result = JSON.parse(stdout) as { native: boolean; clientErrors: string[]; peerEnd: string | null; published: number[] };
    expect(result).toEqual({ native: false, clientErrors: [], peerEnd: 'ECONNRESET', published: [-1] });
  });
});
