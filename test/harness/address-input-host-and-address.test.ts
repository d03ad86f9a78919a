// An address object with both `host` and `address` is refused by the harness
// (ERR_INVALID_ARG_VALUE: "cannot be given with 'host' (they name the same thing)"), for a fault
// server's or proxy's `listen` and a proxy's `upstream`; AddressInput and ConnectAddressInput,
// unions of a `{ host?, port? }` and an `{ address, family?, port? }` shape, accepted it (an object
// literal may carry any union member's keys): test/fixtures/types/address-inputs.mts has
// @ts-expect-error on such objects, unused, so tsc failed, against the declarations of before.
import { createRequire } from 'node:module';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';
import { typeCheckProject } from '../helpers/tsc.js';

const require = createRequire(import.meta.url);
const harness = require(path.join(root, 'lib', 'harness', 'index.js')) as typeof import('../../lib/harness/index.js');

const BOTH = { host: '127.0.0.1', address: '127.0.0.1', port: 0 };

describe('an address object with both host and address', () => {
  it('is refused at run time (listen, upstream)', async () => {
    await expect(harness.createFaultServer({ behavior: 'close', listen: BOTH as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(harness.createFaultProxy({ upstream: { ...BOTH, port: 1 } as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(harness.createFaultProxy({ upstream: 1, listen: BOTH as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    // What the types keep accepting is accepted: host with family (ignored), and server.address().
    const server = await harness.createFaultServer({ behavior: 'close', listen: { host: '127.0.0.1', family: 'IPv4', port: 0 } });
    try {
      const proxy = await harness.createFaultProxy({ upstream: { address: server.host, family: 'IPv4', port: server.port } });
      await proxy.close();
    } finally {
      await server.close();
    }
  });

  it('does not compile as an AddressInput or ConnectAddressInput (every @ts-expect-error used)', async () => {
    const { code, output } = await typeCheckProject(path.join(root, 'test', 'fixtures', 'types', 'tsconfig.address-inputs.json'), root, 120_000);
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
