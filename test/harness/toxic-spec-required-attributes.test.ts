// A toxic spec's attributes are optional, but two types have one without a default: bandwidth's
// `rate` and slicer's `average_size` (ToxicAttributes says "required"). The harness refuses a spec
// without it (ERR_INVALID_ARG_VALUE, from createFaultProxy(), addToxic() and formatToxic()), while
// the declared ToxicSpec accepted `{ type: 'bandwidth' }`: a consumer's compiler passed what
// failed at run time. The fixture test/fixtures/types/toxic-specs.mts has @ts-expect-error on
// those specs (unused, so tsc failed, against the declarations of before).
import { createRequire } from 'node:module';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';
import { typeCheckProject } from '../helpers/tsc.js';

const require = createRequire(import.meta.url);
const harness = require(path.join(root, 'lib', 'harness', 'index.js')) as typeof import('../../lib/harness/index.js');

const REFUSED: unknown[] = [{ type: 'bandwidth' }, { type: 'bandwidth', attributes: {} }, { type: 'slicer', attributes: { size_variation: 1 } }, { type: 'slicer' }];

describe('a toxic spec without the attribute its type cannot do without', () => {
  it('is refused at run time by createFaultProxy() and formatToxic()', async () => {
    for (const spec of REFUSED) {
      expect(() => harness.formatToxic(spec as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      await expect(harness.createFaultProxy({ upstream: 1, toxics: [spec as never] })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    }
  });

  it('does not compile as a ToxicSpec (every @ts-expect-error used), while the specs the harness takes do', async () => {
    const { code, output } = await typeCheckProject(path.join(root, 'test', 'fixtures', 'types', 'tsconfig.toxic-specs.json'), root, 120_000);
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
