// The AIX / IBM i conditions of binding.gyp and CMakeLists.txt, resolved on this Linux machine:
// node-gyp configured for OS=aix / os400 (gyp's make generator; the makefile read back, as
// `npm run check:platforms` does before compiling those sources with -D_AIX), and
// CMake configured for CMAKE_SYSTEM_NAME=OS400 (configuring needs no IBM toolchain; building does).
// This checks what the build files ask for, not that an IBM compiler accepts it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-aix-build-'));

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface GypTarget {
  sources: string[];
  defines: string[];
  cflags: string[];
}

// The same resolution `npm run check:platforms` compiles from: node-gyp configure for that OS, its
// generated makefile read back (scripts/platforms/gyp-targets.js).
const { gypTargets } = createRequire(import.meta.url)(path.join(root, 'scripts', 'platforms', 'gyp-targets.js')) as {
  gypTargets(os: string, arch: string, scratch: string, gypDefines?: string[]): Promise<Array<GypTarget & { cflagsCC: string[] }>>;
};

/** binding.gyp's target with its conditions resolved for `osName`, sources relative to the checkout. */
async function gypTarget(osName: string): Promise<GypTarget> {
  const aix = osName === 'aix' || osName === 'os400';
  const [target] = await gypTargets(osName, aix ? 'ppc64' : 'x64', dir, aix ? [`-Dnode_exp_file=${path.join(dir, 'node.exp')}`] : []);
  return {
    sources: target!.sources.map((source) => `native/${path.basename(source)}`),
    defines: target!.defines,
    cflags: [...target!.cflags, ...target!.cflagsCC],
  };
}

describe('binding.gyp', () => {
  it.each(['aix', 'os400'])('OS=%s: compiles sys_aix.cc with _ALL_SOURCE, without ELF visibility', async (osName) => {
    const target = await gypTarget(osName);
    expect(target.sources).toEqual(['native/addon.cc', 'native/handed_out.cc', 'native/lingerer.cc', 'native/lingerer_api.cc', 'native/sys_posix.cc', 'native/poller_uv.cc', 'native/sys_aix.cc']);
    expect(target.defines).toContain('_ALL_SOURCE');
    expect(target.cflags).not.toContain('-fvisibility=hidden');
  });

  it('OS=linux: untouched by the AIX condition', async () => {
    const target = await gypTarget('linux');
    expect(target.sources).toEqual(['native/addon.cc', 'native/handed_out.cc', 'native/lingerer.cc', 'native/lingerer_api.cc', 'native/sys_posix.cc', 'native/sys_linux.cc', 'native/poller_epoll.cc']);
    expect(target.defines).not.toContain('_ALL_SOURCE');
    expect(target.cflags).toContain('-fvisibility=hidden');
  });
});

describe('CMakeLists.txt for IBM i (CMAKE_SYSTEM_NAME=OS400)', () => {
  let flags: string;
  let link: string;
  const nodeExp = path.join(dir, 'node.exp');

  beforeAll(async () => {
    fs.writeFileSync(nodeExp, '#!.\n');
    const build = path.join(dir, 'cmake-os400');
    await run('cmake', ['-S', root, '-B', build, '-DCMAKE_SYSTEM_NAME=OS400', `-DSOCKCLOSE_NODE_EXP=${nodeExp}`], { timeout: 120_000 });
    flags = fs.readFileSync(path.join(build, 'CMakeFiles', 'sockclose.dir', 'flags.make'), 'utf8');
    link = fs.readFileSync(path.join(build, 'CMakeFiles', 'sockclose.dir', 'link.txt'), 'utf8');
  }, 180_000);

  it('compiles 64-bit, threaded, with _ALL_SOURCE and no hidden visibility', () => {
    expect(flags).toMatch(/-maix64/);
    expect(flags).toMatch(/-pthread/);
    expect(flags).toMatch(/-D_ALL_SOURCE/);
    expect(flags).not.toMatch(/-fvisibility=hidden/);
  });

  it("links sys_aix.cc against node.exp, with IBM i's runtime linking and library path", () => {
    expect(link).toMatch(/sys_aix\.cc/);
    expect(link).not.toMatch(/sys_linux\.cc/);
    expect(link).toContain(`-Wl,-bimport:${nodeExp}`);
    expect(link).toMatch(/-Wl,-bbigtoc/);
    expect(link).toMatch(/-Wl,-brtl/);
    expect(link).toMatch(/-Wl,-blibpath:\/QOpenSys\/pkgs\/lib:\/QOpenSys\/usr\/lib/);
  });

  it('refuses to configure without node.exp, saying where it comes from', async () => {
    const build = path.join(dir, 'cmake-no-exp');
    const missing = path.join(dir, 'absent', 'node.exp');
    const failure = await run('cmake', ['-S', root, '-B', build, '-DCMAKE_SYSTEM_NAME=OS400', `-DSOCKCLOSE_NODE_EXP=${missing}`], {
      timeout: 120_000,
    }).then(
      () => null,
      (error: { stderr: string }) => error,
    );
    expect(failure).not.toBeNull();
    expect(failure!.stderr).toMatch(/node\.exp not found/);
  }, 180_000);
});
