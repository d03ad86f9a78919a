// The published declarations narrow: a LingerReport on its `reason`, an AuditedClose on its `end`,
// a ProbeResult on its `outcome`, and the fault server's and fault proxy's listeners take their
// events' arguments. The consumer test/fixtures/types/narrowing.mts (importing `sockclose` and
// `sockclose/harness` by the package's own name, so from lib/) is type-checked by the repository's
// tsc, strict, skipLibCheck off. Against the flat interfaces and untyped emitters of before, tsc
// failed on it (22 errors): the narrowed assignments (`const none: null = report.error` after a
// check) do not compile on a flat type, and the events' @ts-expect-error lines compiled, which tsc
// reports as unused directives.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';
import { typeCheckProject } from '../helpers/tsc.js';

describe('the declarations a consumer type-checks against', () => {
  it('narrow LingerReport and AuditedClose, and type the fault server and proxy events (every @ts-expect-error used)', async () => {
    const { code, output } = await typeCheckProject(path.join(root, 'test', 'fixtures', 'types', 'tsconfig.json'), root, 120_000);
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
