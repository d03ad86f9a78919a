// The internal binding's guards on the lingerer's token and group numbers (native/lingerer_api.cc):
// lingerStart()'s token and group, lingerCut()'s token and lingerCutGroup()'s group are uint32s.
// napi_get_value_uint32() reads NaN as 0, -16 as 2 ** 32 - 16, 2 ** 32 + n as n and n + 0.5 as n,
// so a wrong number named another linger (or another server's group) and ended it. They must be as
// strict as the descriptor's guard (native-guards.test.ts): a TypeError, nothing taken or cut.
import { createRequire } from 'node:module';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, tcpPair } from '../helpers/net.js';
import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);
const { binding } = require(path.join(root, 'lib', 'native', 'binding.js')) as typeof import('../../lib/native/binding.js');

const LINGER_CHECKED = 8;
// A group and a token of our own, far from those the library hands out (counting up from 0).
const GROUP = 0xfffffff0;
const TOKEN = 0xfffffff0;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Throws the binding's TypeError, or fails the test with what happened instead.
function expectTypeError(call: () => unknown): void {
  let thrown: unknown = null;
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    thrown = error;
  }
  expect({ result, thrown: thrown instanceof TypeError }).toEqual({ result: undefined, thrown: true });
  expect((thrown as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
}

describe.skipIf(binding() === null)('token and group guards', () => {
  const native = binding()!;

  // A connected server-side descriptor (Node keeps its own copy: the lingerer takes a duplicate).
  async function serverFd(): Promise<number> {
    const { client, server, listener } = await tcpPair();
    cleanups.push(() => closeServer(listener));
    cleanups.push(() => void client.destroy());
    cleanups.push(() => void server.destroy());
    cleanups.push(() => void native.lingerCutGroup(GROUP));
    return (server as unknown as { _handle: { fd: number } })._handle.fd;
  }

  const start = (fd: number, token: number, group: number) =>
    native.lingerStart(fd, token, group, LINGER_CHECKED, 10_000, 10_000, 1024, 0, 0, 0, -1, -1);

  it.each([
    ['token 2 ** 32 + 1', TOKEN, (fd: number) => start(fd, 2 ** 32 + 1, GROUP)],
    ['token NaN', TOKEN, (fd: number) => start(fd, Number.NaN, GROUP)],
    ['token -1', TOKEN, (fd: number) => start(fd, -1, GROUP)],
    ['token 1.5', TOKEN, (fd: number) => start(fd, 1.5, GROUP)],
    ['group 2 ** 32 + GROUP', TOKEN, (fd: number) => start(fd, TOKEN, 2 ** 32 + GROUP)],
    ['group -16', TOKEN, (fd: number) => start(fd, TOKEN, -16)],
    ['group Infinity', TOKEN, (fd: number) => start(fd, TOKEN, Number.POSITIVE_INFINITY)],
  ])('lingerStart() with %s: TypeError, nothing taken', async (_name, _token, call) => {
    const fd = await serverFd();
    const before = native.lingerCount();
    expectTypeError(() => call(fd));
    expect(native.lingerCount() - before).toBe(0);
  });

  it.each([
    ['lingerCut(TOKEN + 2 ** 32)', () => native.lingerCut(TOKEN + 2 ** 32)],
    ['lingerCut(TOKEN - 2 ** 32)', () => native.lingerCut(TOKEN - 2 ** 32)],
    ['lingerCut(TOKEN + 0.5)', () => native.lingerCut(TOKEN + 0.5)],
    ['lingerCutGroup(GROUP + 2 ** 32)', () => native.lingerCutGroup(GROUP + 2 ** 32)],
    ['lingerCutGroup(-16)', () => native.lingerCutGroup(-16)],
    ['lingerCutGroup(GROUP + 0.25)', () => native.lingerCutGroup(GROUP + 0.25)],
  ])('%s: TypeError, the linger of the number it is not runs on', async (_name, call) => {
    const fd = await serverFd();
    const before = native.lingerCount();
    expect(start(fd, TOKEN, GROUP)).toBe(0);
    expect(native.lingerCount() - before).toBe(1);
    expectTypeError(call);
    expect(native.lingerCount() - before).toBe(1);
  });

  it('NaN cuts nothing: lingerCut(NaN) and lingerCutGroup(NaN) throw', () => {
    expectTypeError(() => native.lingerCut(Number.NaN));
    expectTypeError(() => native.lingerCutGroup(Number.NaN));
  });

  it('the exact numbers still work: 2 ** 32 - 1', async () => {
    const fd = await serverFd();
    const before = native.lingerCount();
    expect(start(fd, 2 ** 32 - 1, GROUP)).toBe(0);
    expect(native.lingerCut(2 ** 32 - 1)).toBe(1);
    expect(native.lingerCount() - before).toBe(0);
  });
});
