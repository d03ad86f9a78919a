// Platform detection and the libuv fix check, with injected values (this machine is Linux).
import { createRequire } from 'node:module';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root, sockclose } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);
type Detect = typeof import('../../lib/platform/detect.js');
type Exposure = typeof import('../../lib/cluster/exposure.js');
const { detectPlatform, libuvHasAixResetFix, currentPlatform } = require(path.join(root, 'lib', 'platform', 'detect.js')) as Detect;
const { clusterHangExposure } = require(path.join(root, 'lib', 'cluster', 'exposure.js')) as Exposure;

describe('detectPlatform()', () => {
  it.each([
    ['linux', 'Linux', 'linux'],
    ['android', 'Linux', 'linux'],
    ['darwin', 'Darwin', 'darwin'],
    ['freebsd', 'FreeBSD', 'freebsd'],
    ['openbsd', 'OpenBSD', 'openbsd'],
    ['netbsd', 'NetBSD', 'netbsd'],
    ['aix', 'AIX', 'aix'],
    // IBM i's Node reported 'aix' until it was built as its own platform (Node 18, gyp 'os400');
    // uname (os.type()) has always said OS400 there.
    ['aix', 'OS400', 'os400'],
    ['os400', 'OS400', 'os400'],
    ['win32', 'Windows_NT', 'win32'],
    ['sunos', 'SunOS', 'other'],
    ['cygwin', 'CYGWIN_NT-10.0', 'other'],
  ] as const)('process.platform %s, os.type() %s -> %s', (platform, osType, expected) => {
    expect(detectPlatform(platform, osType)).toBe(expected);
  });

  it('names this machine linux, with descriptors', () => {
    expect(currentPlatform()).toMatchObject({ name: 'linux', hasDescriptors: true, noDescriptorsReason: null });
    expect(sockclose.capabilities().platform).toBe('linux');
  });
});

describe('libuvHasAixResetFix()', () => {
  it.each([
    ['1.44.2', true],
    ['1.44.3', true],
    ['1.45.0', true],
    ['1.46.0', true],
    ['1.51.0', true],
    ['2.0.0', true],
    ['1.44.1', false],
    ['1.44.0', false],
    ['1.43.0', false],
    ['1.42.9', false],
    ['0.10.37', false],
    ['', false],
    ['garbage', false],
  ] as const)('libuv %j -> %s', (version, expected) => {
    expect(libuvHasAixResetFix(version)).toBe(expected);
  });

  it("reads this Node's own libuv by default", () => {
    expect(libuvHasAixResetFix()).toBe(libuvHasAixResetFix(process.versions.uv));
    expect(sockclose.capabilities().libuvAixResetFix).toBe(libuvHasAixResetFix(process.versions.uv));
  });
});

describe('clusterHangExposure()', () => {
  it.each([
    ['aix', '1.43.0', true],
    ['aix', '1.44.1', true],
    ['os400', '1.42.0', true],
    ['aix', '1.44.2', false],
    ['os400', '1.46.0', false],
    ['linux', '1.40.0', false],
    ['darwin', '1.40.0', false],
    ['win32', '1.40.0', false],
  ] as const)('%s with libuv %s: exposed %s', (platform, libuv, exposed) => {
    const exposure = clusterHangExposure(platform, libuv);
    expect(exposure).toMatchObject({ platform, libuv, exposed });
    expect(exposure.reason).toContain(platform === 'os400' ? 'IBM i' : platform === 'aix' ? 'AIX' : platform);
  });

  it('accepts a libuv version with a suffix, and undefined for either default', () => {
    // A prerelease of 1.44.2 may predate the fix (test/aix/libuv-prerelease-exposure.test.ts).
    expect(clusterHangExposure('aix', '1.45.0-dev')).toMatchObject({ exposed: false });
    expect(clusterHangExposure(undefined, '1.43.0')).toMatchObject({ platform: 'linux', exposed: false });
    expect(clusterHangExposure('aix', undefined)).toMatchObject({ libuv: process.versions.uv });
  });

  it.each([
    ['aix', 5, 'libuv'],
    ['aix', null, 'libuv'],
    ['aix', { major: 1 }, 'libuv'],
    [5, '1.43.0', 'platform'],
    [null, '1.43.0', 'platform'],
  ] as const)('validates like Node: (%j, %j) is a TypeError ERR_INVALID_ARG_TYPE naming "%s"', (platform, libuv, name) => {
    const call = () => sockclose.clusterHangExposure(platform as never, libuv as never);
    expect(call).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
    expect(call).toThrow(`The "${name}" argument must be of type string`);
  });

  it.each([
    ['sunos', '1.43.0', 'platform', /must be one of 'linux', .*'other'/],
    ['AIX', '1.43.0', 'platform', /must be one of/],
    ['aix', 'garbage', 'libuv', /major\.minor\.patch/],
    ['aix', '1.43', 'libuv', /major\.minor\.patch/],
    ['aix', '', 'libuv', /major\.minor\.patch/],
  ] as const)('refuses (%j, %j): TypeError ERR_INVALID_ARG_VALUE naming %s', (platform, libuv, name, says) => {
    let caught: (Error & { code?: string }) | undefined;
    try {
      sockclose.clusterHangExposure(platform as never, libuv);
    } catch (error) {
      caught = error as Error & { code?: string };
    }
    expect(caught).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    expect(caught!.message).toContain(`'${name}'`);
    expect(caught!.message).toMatch(says);
    // The stack starts at the caller's line, as with every other sockclose error.
    expect(caught!.stack!.split('\n')[1]).toContain('detect.test.ts');
  });

  it('says this machine is not exposed (Linux), through the public API too', () => {
    expect(sockclose.clusterHangExposure()).toMatchObject({ platform: 'linux', libuv: process.versions.uv, exposed: false });
  });
});
