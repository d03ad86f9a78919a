// FaultProxy.updateToxic(): "one [attribute] given as undefined keeps its value", and an absent
// (undefined) toxicity keeps the old one; the code does so. Its declared parameter,
// Partial<Pick<ToxicSpec, 'attributes' | 'toxicity'>>, refused those undefined values in a
// consumer compiled with exactOptionalPropertyTypes (as this repository's own tsconfig is):
// test/fixtures/types/update-toxic-undefined.mts failed with TS2379.
import { createRequire } from 'node:module';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';
import { typeCheckProject } from '../helpers/tsc.js';

const require = createRequire(import.meta.url);
const harness = require(path.join(root, 'lib', 'harness', 'index.js')) as typeof import('../../lib/harness/index.js');

describe('updateToxic() with values given as undefined', () => {
  it('keeps those values at run time', async () => {
    const proxy = await harness.createFaultProxy({ upstream: 1, toxics: [{ type: 'latency', attributes: { latency: 100, jitter: 3 }, toxicity: 0.5 }] });
    try {
      const changes = { attributes: { latency: undefined, jitter: 5 }, toxicity: undefined };
      const toxic = proxy.updateToxic('latency_downstream', changes as never);
      expect(toxic).toMatchObject({ toxicity: 0.5, attributes: { latency: 100, jitter: 5 } });
      expect(proxy.updateToxic('latency_downstream', { attributes: undefined, toxicity: undefined } as never)).toEqual(toxic);
    } finally {
      await proxy.close();
    }
  });

  it('type-checks them under exactOptionalPropertyTypes, as documented', async () => {
    const { code, output } = await typeCheckProject(path.join(root, 'test', 'fixtures', 'types', 'tsconfig.update-toxic.json'), root, 120_000);
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
