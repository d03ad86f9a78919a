// The internal binding's own guards on lingerStart() (native/lingerer_api.cc): JavaScript validates
// every argument first, so these only keep misuse of the internal module from touching a wrong
// descriptor. They must be as strict as addon.cc's ArgInt(): napi_get_value_int32() reads NaN as 0
// (stdin), 2 ** 32 + fd as fd and fd + 0.5 as fd, so a wrong number named another descriptor and
// the lingerer took it over (with lingerChecked, without even asking whether it is a socket).
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, tcpPair } from '../helpers/net.js';
import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);
const { binding } = require(path.join(root, 'lib', 'native', 'binding.js')) as typeof import('../../lib/native/binding.js');
const { handOver } = require(path.join(root, 'lib', 'lingering', 'native-lingerer.js')) as typeof import('../../lib/lingering/native-lingerer.js');

const LINGER_CHECKED = 8;
// A group of our own: whatever a broken guard lets through is cut after the test.
const GROUP = 0xfffffff0;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(binding() === null)('lingerStart() guards', () => {
  const native = binding()!;
  const start = (fd: number, flags: number, idle = 1000, left = 1000, idleSpent = 0, maxDrain = 1024, readBytes = -1, written = -1) =>
    native.lingerStart(fd, 1, GROUP, flags, idle, left, maxDrain, 0, 0, idleSpent, readBytes, written);

  it.each([
    ['fd + 2 ** 32', (fd: number) => start(fd + 2 ** 32, LINGER_CHECKED)],
    ['fd + 0.5', (fd: number) => start(fd + 0.5, LINGER_CHECKED)],
    ['NaN for the descriptor (stdin)', () => start(Number.NaN, 0)],
    ['Infinity for the descriptor', () => start(Number.POSITIVE_INFINITY, 0)],
    ['NaN for the idle timeout', (fd: number) => start(fd, LINGER_CHECKED, Number.NaN)],
    ['2 ** 32 + 5 for the total cap', (fd: number) => start(fd, LINGER_CHECKED, 1000, 2 ** 32 + 5)],
    ['-1 for the spent idle time', (fd: number) => start(fd, LINGER_CHECKED, 1000, 1000, -1)],
    ['NaN for the drain limit', (fd: number) => start(fd, LINGER_CHECKED, 1000, 1000, 0, Number.NaN)],
    ['NaN for the bytes Node read', (fd: number) => start(fd, LINGER_CHECKED, 1000, 1000, 0, 1024, Number.NaN)],
    ['-2 for the bytes Node read', (fd: number) => start(fd, LINGER_CHECKED, 1000, 1000, 0, 1024, -2)],
    ['NaN for the bytes Node wrote', (fd: number) => start(fd, LINGER_CHECKED, 1000, 1000, 0, 1024, 0, Number.NaN)],
  ])('%s: TypeError, nothing taken', async (_name, call) => {
    const { client, server, listener } = await tcpPair();
    cleanups.push(() => closeServer(listener));
    cleanups.push(() => void client.destroy());
    cleanups.push(() => void server.destroy());
    cleanups.push(() => void native.lingerCutGroup(GROUP));
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const before = native.lingerCount();
    let thrown: unknown = null;
    let result: unknown;
    try {
      result = call(fd);
    } catch (error) {
      thrown = error;
    }
    expect({ result, count: native.lingerCount() - before }).toEqual({ result: undefined, count: 0 });
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
  });
});

describe.skipIf(binding() === null)('a hand-over that fails names the call that failed', () => {
  it('SO_LINGER unreadable (not a socket): getsockopt, ENOTSOCK, nothing taken', () => {
    const fd = fs.openSync('/dev/null', 'r');
    try {
      const before = binding()!.lingerCount();
      const settings = { idleTimeout: 1000, maxTimeout: 1000, onTimeout: 'reset', maxDrainBytes: 1024 } as const;
      const request = { fd, pool: { id: GROUP }, settings, drainedBytes: 0, elapsedMs: 0, idleSpentMs: 0, finSent: false, lingerChecked: false, inputEnded: false, canReset: true, readBytes: -1, writtenBytes: -1 };
      const result = handOver(request as unknown as Parameters<typeof handOver>[0], null);
      // Before: { errno: -ENOTSOCK, syscall: 'dup' }, although dup() was never called.
      expect(result).toEqual({ errno: -os.constants.errno.ENOTSOCK, syscall: 'getsockopt' });
      expect(binding()!.lingerCount()).toBe(before);
    } finally {
      fs.closeSync(fd);
    }
  });
});
