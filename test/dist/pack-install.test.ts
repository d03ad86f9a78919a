// The package as users get it: `prebuildify --napi --strip` makes prebuilds/linux-x64/ in a copy
// of the repository (never in this checkout, whose build/ the other tests load), `npm pack` packs
// it, and a fresh project installs the tarball with no compiler reachable and uses it from both
// `require` and `import`. The prebuild must really be an x86-64 ELF shared object: its header is
// read here, not taken from `file` or from the folder's name.
//
// The wider checks (arm64 under qemu, TypeScript consumers, size report) are `npm run check:dist`.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);

interface PackResult {
  tarball: string;
  packed: number;
  unpacked: number;
  files: { path: string; size: number }[];
}
interface Consumer {
  dir: string;
  installEnv: { path: string[]; reachable: Record<string, string>; CC: string | null; CXX: string | null };
  seconds: number;
  log: string;
}
interface Report {
  node: string;
  arch: string;
  binary: string;
  passed: string[];
  loader: string;
  namedExports?: number;
}

const stage = require(path.join(root, 'scripts/dist/stage.js')) as {
  stageRepository(options: { parent: string }): string;
  buildTypeScript(dir: string): void;
  removeStage(dir: string): void;
};
const prebuilds = require(path.join(root, 'scripts/dist/prebuilds.js')) as {
  buildPrebuild(dir: string, options: { arch: string }): { file: string; bytes: number };
};
const packing = require(path.join(root, 'scripts/dist/pack.js')) as {
  pack(dir: string, destination: string): PackResult;
  checkContents(result: PackResult, manifest: unknown, options: { prebuilds: string[] }): string[];
};
const consumers = require(path.join(root, 'scripts/dist/consumers.js')) as {
  noCompilerEnv(dir: string): { env: NodeJS.ProcessEnv };
  installConsumer(parent: string, name: string, tarball: string, options: { env: NodeJS.ProcessEnv; type: string }): Consumer;
  checkInstall(consumer: Consumer, options: { arch: string }): string[];
  runProgram(consumer: Consumer, program: string, options: { env: NodeJS.ProcessEnv; expectBinary?: string }): Report;
};
const elf = require(path.join(root, 'scripts/dist/elf.js')) as {
  EM: Record<string, number>;
  describeBinary(file: string): { format: string; bits: number; littleEndian: boolean; machine: number; sharedObject: boolean; stripped: boolean };
};

const PREBUILD = 'prebuilds/linux-x64/sockclose.glibc.node';
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';

describe.runIf(onLinuxX64)('pack, then install with no compiler reachable', () => {
  let work: string;
  let staged: string;
  let packed: PackResult;
  let consumer: Consumer;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-dist-test-'));
    staged = stage.stageRepository({ parent: work });
    stage.buildTypeScript(staged);
    prebuilds.buildPrebuild(staged, { arch: 'x64' });
    packed = packing.pack(staged, path.join(work, 'packed'));
    ({ env } = consumers.noCompilerEnv(path.join(work, 'no-compiler')));
    consumer = consumers.installConsumer(work, 'consumer', packed.tarball, { env, type: 'module' });
  }, 240_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('prebuildify made a stripped x86-64 ELF shared object, and it is what was installed', () => {
    const installed = path.join(consumer.dir, 'node_modules', 'sockclose', PREBUILD);
    for (const file of [path.join(staged, PREBUILD), installed]) {
      const header = elf.describeBinary(file);
      expect(header).toMatchObject({ format: 'ELF', bits: 64, littleEndian: true, sharedObject: true, stripped: true });
      expect(header.machine).toBe(elf.EM.EM_X86_64);
      expect(header.machine).toBe(62);
    }
    expect(fs.readFileSync(installed).equals(fs.readFileSync(path.join(staged, PREBUILD)))).toBe(true);
  });

  it('the tarball holds what users need and nothing else', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(staged, 'package.json'), 'utf8'));
    const problems = packing
      .checkContents(packed, manifest, { prebuilds: ['linux-x64'] })
      // The README is the lead's to write; every other rule holds here.
      .filter((problem) => !problem.startsWith('README.md'));
    expect(problems).toEqual([]);
    const paths = packed.files.map((file) => file.path);
    expect(paths).toContain(PREBUILD);
    // npm adds README and LICENSE by itself, a changelog only when `files` lists it.
    expect(paths).toContain('CHANGELOG.md');
    expect(paths.filter((file) => /^(src|test|docs|bench|build)\//.test(file))).toEqual([]);
  });

  it('installed with no compiler reachable, and compiled nothing', () => {
    expect(consumer.installEnv.reachable).toEqual({});
    expect(consumer.installEnv.CC).toBe('/bin/false');
    expect(consumers.checkInstall(consumer, { arch: 'x64' })).toEqual([]);
    expect(fs.existsSync(path.join(consumer.dir, 'node_modules', 'sockclose', 'build'))).toBe(false);
  });

  it('require("sockclose") loads the prebuild and works on real sockets', () => {
    const report = consumers.runProgram(consumer, 'use-require.cjs', { env, expectBinary: PREBUILD });
    expect(report.loader).toBe('require');
    expect(report.binary).toBe(path.join(consumer.dir, 'node_modules', 'sockclose', PREBUILD));
    expect(report.passed).toContain('peekSocketError: ECONNRESET, twice, without consuming it');
    expect(report.passed.length).toBeGreaterThanOrEqual(13);
  });

  it('import { … } from "sockclose" loads the same prebuild, named exports equal to CommonJS ones', () => {
    const report = consumers.runProgram(consumer, 'use-import.mjs', { env, expectBinary: PREBUILD });
    expect(report.loader).toBe('import');
    expect(report.binary).toBe(path.join(consumer.dir, 'node_modules', 'sockclose', PREBUILD));
    expect(report.namedExports).toBeGreaterThanOrEqual(11);
    expect(report.passed.length).toBeGreaterThanOrEqual(13);
  });

  it('every subpath in "exports" loads through require and import alike', () => {
    const report = consumers.runProgram(consumer, 'check-exports.cjs', { env }) as unknown as { subpaths: { specifier: string }[] };
    expect(report.subpaths.map((entry) => entry.specifier)).toContain('sockclose');
  });

  // Last: it leaves a build/ directory behind. The install script is run as `npm rebuild
  // sockclose` runs it. Before, it took node-gyp-build's word that build/Release held a binary and
  // left a stale one in place, though the loader's error message says to run exactly this.
  it('the install script (npm rebuild) replaces a local build the loader cannot use; strict without any binary: exit 1', () => {
    const pkg = path.join(consumer.dir, 'node_modules', 'sockclose');
    const built = path.join(pkg, 'build', 'Release', 'sockclose.node');
    const install = (extra: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, [path.join(pkg, 'scripts', 'install.js')], { cwd: pkg, env: { ...env, ...extra }, encoding: 'utf8', timeout: 180_000 });
    const capabilities = () =>
      JSON.parse(
        execFileSync(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(require("sockclose").capabilities()))'], { cwd: consumer.dir, env, encoding: 'utf8' }),
      ) as { native: boolean; binary: string | null; skipped: string | null };

    fs.mkdirSync(path.dirname(built), { recursive: true });
    fs.writeFileSync(built, 'a build cut short');
    expect(capabilities()).toMatchObject({ native: true, skipped: expect.stringContaining(built) });
    // No compiler here: the rebuild fails, but it cleared the unusable build first; the prebuild serves.
    const result = install();
    expect(result.status, result.stderr).toBe(0);
    expect(fs.existsSync(built)).toBe(false);
    expect(capabilities()).toMatchObject({ native: true, binary: path.join(pkg, PREBUILD), skipped: null });

    // Nothing usable at all, strict: the install fails and says why; the unusable build is gone.
    const prebuildDir = path.join(pkg, 'prebuilds');
    fs.renameSync(prebuildDir, `${prebuildDir}.away`);
    try {
      fs.mkdirSync(path.dirname(built), { recursive: true });
      fs.writeFileSync(built, 'a build cut short');
      expect(capabilities()).toMatchObject({ native: false, skipped: null });
      const strict = install({ SOCKCLOSE_REQUIRE_NATIVE: '1' });
      expect(strict.status).toBe(1);
      expect(strict.stderr).toMatch(/sockclose: could not build the native binary .*JavaScript-only mode/);
      expect(fs.existsSync(built)).toBe(false);
      expect(install().status).toBe(0); // not strict: never fails the install
    } finally {
      fs.renameSync(`${prebuildDir}.away`, prebuildDir);
    }
  }, 240_000);
});
