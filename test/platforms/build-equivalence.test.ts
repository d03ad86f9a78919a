// binding.gyp and CMakeLists.txt are two builds of the same addon ("keep them in step"): for every
// system either names, both must compile the same sources with the same language standard, the
// same project defines, the same warnings and the same code-generation choices (no exceptions, no
// RTTI, hidden visibility where ELF or Mach-O uses it). Resolved on this Linux machine without
// compiling anything: node-gyp configured for that OS (scripts/platforms/gyp-targets.js, the
// makefile read back, as `npm run check:platforms` does), and CMake configured with
// CMAKE_SYSTEM_NAME set to that system (configuring needs only the host compiler) and its
// compile_commands.json read back. Both with warnings as errors, as the development builds are.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-build-equivalence-'));
const nodeExp = path.join(dir, 'node.exp');
fs.writeFileSync(nodeExp, '#!.\n');

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Resolved {
  sources: string[];
  flags: string[];
}

const { gypTargets } = createRequire(import.meta.url)(path.join(root, 'scripts', 'platforms', 'gyp-targets.js')) as {
  gypTargets(
    os: string,
    arch: string,
    scratch: string,
    gypDefines?: string[],
  ): Promise<Array<{ sources: string[]; defines: string[]; cflags: string[]; cflagsCC: string[] }>>;
};

async function gyp(osName: string, arch: string, defines: string[]): Promise<Resolved> {
  const targets = await gypTargets(osName, arch, dir, defines);
  expect(targets).toHaveLength(1);
  const [target] = targets;
  return {
    sources: target!.sources.map((source) => path.basename(source)).sort(),
    flags: [...target!.defines.map((d) => `-D${d}`), ...target!.cflags, ...target!.cflagsCC],
  };
}

let builds = 0;
async function cmake(systemName: string | null, defines: string[]): Promise<Resolved & { cache: string }> {
  const build = path.join(dir, `cmake-${builds++}`);
  const args = ['-S', root, '-B', build, '-G', 'Unix Makefiles', '-DCMAKE_BUILD_TYPE=Release', '-DCMAKE_EXPORT_COMPILE_COMMANDS=ON', '-DSOCKCLOSE_WERROR=ON'];
  // Another system: the host compiler stands in (nothing is built), so its checks are skipped.
  if (systemName) args.push(`-DCMAKE_SYSTEM_NAME=${systemName}`, '-DCMAKE_CXX_COMPILER_WORKS=ON');
  await run('cmake', [...args, ...defines], { timeout: 120_000 });
  const commands = JSON.parse(fs.readFileSync(path.join(build, 'compile_commands.json'), 'utf8')) as Array<{ file: string; command: string }>;
  const flagSets = new Set(commands.map((c) => c.command.replace(/ -o \S+ -c \S+$/, '')));
  expect(flagSets.size).toBe(1); // one set of flags for every source
  return {
    sources: commands.map((c) => path.basename(c.file)).sort(),
    flags: commands[0]!.command.split(/\s+/),
    cache: fs.readFileSync(path.join(build, 'CMakeCache.txt'), 'utf8'),
  };
}

/** The standard the compiler ends up using: the last -std= wins; none means the compiler's default. */
function standard(flags: string[]): string {
  return flags.filter((flag) => flag.startsWith('-std=')).at(-1)?.slice('-std='.length) ?? "(the compiler's default)";
}

// Flags whose presence must agree. -Wno-unused-parameter is Node's common.gypi's (not ours), and
// CMake's build staying stricter there is harmless.
const SAME_PRESENCE = ['-fno-exceptions', '-fno-rtti', '-fvisibility=hidden', '-pthread', '-Wall', '-Wextra', '-Werror'];
// Defines binding.gyp and CMakeLists.txt set themselves (the rest come from node-gyp or CMake).
const OWN_DEFINE = /^-D(NAPI_|NODE_ADDON_API_|NODE_API_|_ALL_SOURCE)/;

// Where node-gyp's resolution of binding.gyp is known to fall short of the intended flags that
// CMakeLists.txt sets (none now: NetBSD, to which Node's common.gypi gives none of -fno-exceptions,
// -fno-rtti and -pthread, gets them from binding.gyp itself).
const GYP_LACKS: Record<string, string[]> = {};

const CASES: Array<{ label: string; gyp: [string, string, string[]]; cmake: [string | null, string[]] }> = [
  { label: 'Linux, epoll poller', gyp: ['linux', 'x64', []], cmake: [null, []] },
  { label: 'Linux, uv poller', gyp: ['linux', 'x64', ['-Dsockclose_poller=uv']], cmake: [null, ['-DSOCKCLOSE_POLLER=uv']] },
  { label: 'macOS', gyp: ['mac', 'x64', []], cmake: ['Darwin', []] },
  { label: 'FreeBSD', gyp: ['freebsd', 'x64', []], cmake: ['FreeBSD', []] },
  { label: 'OpenBSD', gyp: ['openbsd', 'x64', []], cmake: ['OpenBSD', []] },
  { label: 'NetBSD', gyp: ['netbsd', 'x64', []], cmake: ['NetBSD', []] },
  // gyp (and so Node's own build) calls DragonFly "freebsd"; CMake calls it DragonFly.
  { label: 'DragonFly', gyp: ['freebsd', 'x64', []], cmake: ['DragonFly', []] },
  { label: 'AIX', gyp: ['aix', 'ppc64', [`-Dnode_exp_file=${nodeExp}`]], cmake: ['AIX', [`-DSOCKCLOSE_NODE_EXP=${nodeExp}`]] },
  { label: 'IBM i', gyp: ['os400', 'ppc64', [`-Dnode_exp_file=${nodeExp}`]], cmake: ['OS400', [`-DSOCKCLOSE_NODE_EXP=${nodeExp}`]] },
];

describe('binding.gyp and CMakeLists.txt resolve to the same build', () => {
  it.each(CASES)(
    '$label',
    async ({ label, gyp: gypCase, cmake: cmakeCase }) => {
      const fromGyp = await gyp(...gypCase);
      const fromCmake = await cmake(...cmakeCase);
      expect(fromCmake.sources).toEqual(fromGyp.sources);
      expect(standard(fromGyp.flags)).toBe('c++17');
      expect(standard(fromCmake.flags)).toBe('c++17');
      const lacking = GYP_LACKS[label] ?? [];
      for (const flag of lacking) expect({ flag, gyp: fromGyp.flags.includes(flag) }).toEqual({ flag, gyp: false });
      for (const flag of SAME_PRESENCE) {
        const gypHas = fromGyp.flags.includes(flag) || lacking.includes(flag);
        expect({ flag, cmake: fromCmake.flags.includes(flag) }).toEqual({ flag, cmake: gypHas });
      }
      if (label === 'macOS') {
        // node-gyp passes -mmacosx-version-min=10.15; CMake passes CMAKE_OSX_DEPLOYMENT_TARGET to
        // Apple's compilers the same way (not to this host's, which lacks the option).
        expect(fromGyp.flags).toContain('-mmacosx-version-min=10.15');
        expect(fromCmake.cache).toMatch(/^CMAKE_OSX_DEPLOYMENT_TARGET:STRING=10\.15$/m);
      }
      const own = (flags: string[]) => [...new Set(flags.filter((flag) => OWN_DEFINE.test(flag)))].sort();
      expect(own(fromCmake.flags)).toEqual(own(fromGyp.flags));
      expect(own(fromGyp.flags)).toEqual(expect.arrayContaining(['-DNAPI_VERSION=8', '-DNAPI_DISABLE_CPP_EXCEPTIONS']));
    },
    180_000,
  );
});

// Any other Unix (gyp's solaris: illumos, Solaris): neither build has a native/sys_*.cc layer for it.
// CMake refuses to configure; node-gyp builds nothing (a `type: none` condition, as for Windows).
// Before, it compiled and linked a binary whose sys::platform functions were undefined (a shared
// object may leave symbols undefined): capabilities() said native, and the first inspectSocket()
// ended the process with "symbol lookup error".
describe('a Unix without a native layer (gyp OS=solaris, CMake SunOS)', () => {
  it('CMake refuses to configure', async () => {
    await expect(cmake('SunOS', [])).rejects.toThrow(/no native layer for SunOS/);
  }, 180_000);

  it('node-gyp builds nothing', async () => {
    await expect(gyp('solaris', 'x64', [])).rejects.toThrow(/produced no compiled target/);
  }, 180_000);
});

// A poller name neither build knows (native/poller.h has epoll and uv): both refuse to configure.
// Before, node-gyp built a binary without a poller, which failed to load ("undefined symbol
// ...Poller12kPrepareCallE"), and CMake quietly built the epoll one.
describe('an unknown poller name', () => {
  it('CMake refuses to configure', async () => {
    await expect(cmake(null, ['-DSOCKCLOSE_POLLER=kqueue'])).rejects.toThrow(/SOCKCLOSE_POLLER is epoll or uv, not 'kqueue'/);
  }, 180_000);

  it('node-gyp refuses to configure', async () => {
    await expect(gyp('linux', 'x64', ['-Dsockclose_poller=kqueue'])).rejects.toThrow(/sockclose_poller is epoll or uv, not kqueue/);
  }, 180_000);
});
