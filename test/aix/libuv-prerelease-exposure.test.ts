// A libuv prerelease comes before its release: `1.44.2-dev` is libuv's tree between 1.44.1 and
// 1.44.2, where the AIX / IBM i reset fix landed (libuv PR 3482, opened after 1.44.0, not in
// 1.44.1), so a build of it may lack the fix. It counts as exposed, as 1.44.1 does; a prerelease
// of a later version (1.45.0-dev) comes after 1.44.2, and build metadata (`+…`) changes nothing.
import { createRequire } from 'node:module';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root, sockclose } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);
type Detect = typeof import('../../lib/platform/detect.js');
const { libuvHasAixResetFix } = require(path.join(root, 'lib', 'platform', 'detect.js')) as Detect;

describe('a libuv prerelease and the AIX / IBM i reset fix', () => {
  it.each([
    ['1.44.2-dev', false],
    ['1.44.2-rc.1', false],
    ['1.44.2+aix', true],
    ['1.44.3-dev', true],
    ['1.45.0-dev', true],
    ['1.44.1-dev', false],
  ] as const)('libuvHasAixResetFix(%j) -> %s', (version, fixed) => {
    expect(libuvHasAixResetFix(version)).toBe(fixed);
  });

  it('clusterHangExposure(): AIX and IBM i with libuv 1.44.2-dev are exposed, and protectCluster() would apply', () => {
    expect(sockclose.clusterHangExposure('aix', '1.44.2-dev')).toMatchObject({ exposed: true, reason: expect.stringMatching(/< 1\.44\.2/) });
    expect(sockclose.clusterHangExposure('os400', '1.44.2-dev')).toMatchObject({ exposed: true });
    expect(sockclose.clusterHangExposure('aix', '1.45.0-dev')).toMatchObject({ exposed: false });
  });
});
