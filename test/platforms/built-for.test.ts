// The loader refuses a binary whose builtFor (native/addon.cc's kBuiltFor, chosen by the compiler's
// predefined macros) differs from the platform src/platform/detect.ts names. Every name addon.cc
// can produce must therefore be one that detection gives on the system that compiler targets, or
// the loader would refuse its own binary there (DragonFly used to build "unknown" and detect as
// freebsd). Checked here with the loader's own check and injected platform values: this machine is
// Linux, and the real binary is checked too.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);
type Detect = typeof import('../../lib/platform/detect.js');
type BindingModule = typeof import('../../lib/native/binding.js');
type Layout = typeof import('../../lib/native/layout.js');
type Bsd = typeof import('../../lib/platform/bsd.js');
const { detectPlatform } = require(path.join(root, 'lib', 'platform', 'detect.js')) as Detect;
const { checkBinding, binding } = require(path.join(root, 'lib', 'native', 'binding.js')) as BindingModule;
const { SLOT_NAMES } = require(path.join(root, 'lib', 'native', 'layout.js')) as Layout;
const { bsd } = require(path.join(root, 'lib', 'platform', 'bsd.js')) as Bsd;

// What Node reports on the system each of addon.cc's preprocessor branches targets:
// [process.platform, os.type()]. 'other' stands for any Unix sockclose does not name.
const REPORTED: Record<string, Array<[string, string]>> = {
  os400: [
    ['aix', 'OS400'],
    ['os400', 'OS400'],
  ],
  aix: [['aix', 'AIX']],
  linux: [['linux', 'Linux']],
  darwin: [['darwin', 'Darwin']],
  freebsd: [['freebsd', 'FreeBSD']],
  openbsd: [['openbsd', 'OpenBSD']],
  netbsd: [['netbsd', 'NetBSD']],
  // Node on DragonFly is built as gyp's freebsd flavour; a port may say 'dragonfly'.
  dragonfly: [
    ['freebsd', 'DragonFly'],
    ['dragonfly', 'DragonFly'],
  ],
  other: [
    ['sunos', 'SunOS'],
    ['haiku', 'Haiku'],
  ],
};

/** The kBuiltFor strings of native/addon.cc, in order. */
function builtForNames(): string[] {
  const source = fs.readFileSync(path.join(root, 'native', 'addon.cc'), 'utf8');
  return [...source.matchAll(/kBuiltFor = "([^"]+)"/g)].map((match) => match[1]!);
}

function fakeBinary(builtFor: string) {
  return { abi: binding()!.abi, slots: [...SLOT_NAMES], builtFor };
}

describe("the loader accepts the binary of every platform addon.cc names", () => {
  const names = builtForNames();

  it('addon.cc names the platforms this test knows (a new branch needs a row above)', () => {
    expect(names.length).toBeGreaterThanOrEqual(8);
    expect(names.filter((name) => !(name in REPORTED))).toEqual([]);
  });

  it.each(Object.entries(REPORTED).flatMap(([builtFor, reports]) => reports.map(([platform, osType]) => [builtFor, platform, osType])))(
    'a binary built for %s loads where Node says platform %s, os.type() %s',
    (builtFor, platform, osType) => {
      expect(names).toContain(builtFor);
      expect(detectPlatform(platform, osType)).toBe(builtFor);
      expect(checkBinding(fakeBinary(builtFor), detectPlatform(platform, osType))).toBeNull();
    },
  );

  it("a FreeBSD binary is refused on DragonFly (their struct tcp_info differs), and DragonFly's on FreeBSD", () => {
    expect(checkBinding(fakeBinary('freebsd'), detectPlatform('freebsd', 'DragonFly'))).toMatch(/built for freebsd, running on dragonfly/);
    expect(checkBinding(fakeBinary('dragonfly'), detectPlatform('freebsd', 'FreeBSD'))).toMatch(/built for dragonfly, running on freebsd/);
  });

  it('the binary built here loads here', () => {
    const real = binding();
    expect(real).not.toBeNull();
    expect(checkBinding(real!, detectPlatform())).toBeNull();
  });
});

describe('maxLingerSeconds (setLinger refuses more where the kernel is given the time)', () => {
  it('macOS: SO_LINGER_SEC stores seconds * hz (100) in a short, so 327 s is the last that fits', () => {
    const max = bsd('darwin').maxLingerSeconds;
    expect(max * 100).toBeLessThanOrEqual(32767);
    expect((max + 1) * 100).toBeGreaterThan(32767);
  });

  it.each(['freebsd', 'dragonfly', 'openbsd', 'netbsd'] as const)('%s: seconds in a 16-bit so_linger (short or u_short)', (name) => {
    expect(bsd(name).maxLingerSeconds).toBeLessThanOrEqual(32767);
  });
});

describe('a Unix with no native layer (binding.gyp builds nothing there)', () => {
  it.each(['sunos', 'haiku'])("process.platform %s: capabilities().reason says so, not only that no binary fits", (name) => {
    // In a fresh process told it runs there: this checkout's Linux build is refused (built for
    // linux), and no prebuild exists for it.
    const script = `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(name)} });
      process.stdout.write(JSON.stringify(require(${JSON.stringify(root)}).capabilities()));`;
    const env = { ...process.env };
    delete env.SOCKCLOSE_BINARY;
    const seen = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 20_000 })) as { native: boolean; reason: string };
    expect(seen.native).toBe(false);
    expect(seen.reason).toMatch(new RegExp(`^no native layer for ${name}: sockclose's native code covers Linux, macOS, .*AIX and IBM i \\(no usable native binary`));
  });
});
