// `npm run check:dist`: builds the package as it is published and proves the install, in a copy of
// the repository (this checkout's build/, lib/ and prebuilds/ are never touched):
//
//  1. prebuilds: linux-x64 natively and linux-arm64 with Debian's cross compiler, both through
//     `prebuildify --napi --strip`, each binary's ELF header checked against its folder;
//  2. `npm pack`: contents (only what users need) and size, against a budget;
//  3. fresh projects install the tarball with no compiler reachable (PATH = node, npm, sh;
//     CC/CXX = /bin/false) and use it: CommonJS require, ES module named imports, every exported
//     subpath, an install with --ignore-scripts, TypeScript (the repository's TypeScript 7 and the
//     newest TypeScript 5) under moduleResolution nodenext, node16 and bundler, and TypeScript 5
//     under node10 ("module": "commonjs", no esModuleInterop);
//  4. arm64: npm installs the tarball under qemu-user with the official arm64 Node, and the
//     installed package is exercised on real sockets with every arm64 Node version pinned in
//     node-versions.json.
//
// Options: --no-arm64 (skip 1's cross build and 4), --keep (keep the work directory),
// --report <file> (JSON: checks, tarball size, and {passed, failed} for CI), --json (print it),
// --out <dir> (when every check passed, copy the verified tarball there: that exact file is the
// one to publish, with `npm publish <dir>/sockclose-<version>.tgz`). The last line printed says
// whether a tarball was written, and if not, why.
//
// Time limits stretch with the machine's load (scripts/dist/run.js); SOCKCLOSE_TIMEOUT_SCALE=N
// allows N times more. Official Node binaries for the arm64 checks are cached between runs in
// $SOCKCLOSE_NODE_CACHE or ~/.cache/sockclose-node (scripts/dist/node-binaries.js).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { checkContents, pack, sizeByGroup, BUDGET } = require('./pack.js');
const consumers = require('./consumers.js');
const { launcher, nodeBinary } = require('./node-binaries.js');
const { buildPrebuild, prebuildPath } = require('./prebuilds.js');
const { buildTypeScript, removeStage, repoRoot, stageRepository } = require('./stage.js');
const { lastLine } = require('./summary.js');
const versions = require('./node-versions.json');

const argv = process.argv.slice(2);
const option = (name) => argv.includes(name);
const value = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const withArm64 = !option('--no-arm64');
if (value('--out') && !withArm64) {
  console.error('check:dist: --out makes a tarball to publish, which must carry the arm64 prebuild: drop --no-arm64');
  console.error(`check:dist: no tarball written to ${path.resolve(value('--out'))} (nothing was checked)`);
  process.exit(2);
}

const checks = [];
const facts = {};

/** Runs one named check; records pass/fail with its time. Returns the check's value or undefined. */
function check(name, fn) {
  const started = process.hrtime.bigint();
  let result;
  let error = null;
  try {
    result = fn();
  } catch (caught) {
    error = caught;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const detail = error ? error.message : typeof result === 'string' ? result : typeof result?.detail === 'string' ? result.detail : '';
  checks.push({ name, ok: !error, seconds: Number(seconds.toFixed(2)), detail });
  const mark = error ? 'FAIL' : 'ok  ';
  process.stderr.write(`${mark} ${name} (${seconds.toFixed(1)} s)${detail ? `\n     ${detail.split('\n').join('\n     ')}` : ''}\n`);
  return error ? undefined : (result ?? true);
}

function expectEmpty(problems, what) {
  if (problems.length > 0) throw new Error(`${what}:\n${problems.join('\n')}`);
}

function reportLine(report) {
  return `${report.node} ${report.arch}: ${report.passed.length} checks on real sockets, binary ${path.relative(os.tmpdir(), report.binary)}`;
}

function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-check-dist-'));
  let staged;
  try {
    staged = check('stage a copy of the repository and compile lib/', () => {
      const dir = stageRepository({ parent: work });
      buildTypeScript(dir);
      return dir;
    });
    if (!staged) return;

    const prebuilt = [];
    const x64 = check('prebuild linux-x64 (prebuildify --napi --strip --tag-libc), ELF machine 62 (x86-64)', () => {
      const result = buildPrebuild(staged, { arch: 'x64' });
      return `${result.bytes} B, built in ${result.seconds.toFixed(1)} s`;
    });
    if (x64) prebuilt.push('linux-x64');
    if (withArm64) {
      const arm64 = check('prebuild linux-arm64 (same, cross-compiled with aarch64-linux-gnu-g++), ELF machine 183 (AArch64)', () => {
        const result = buildPrebuild(staged, { arch: 'arm64' });
        return `${result.bytes} B, built in ${result.seconds.toFixed(1)} s`;
      });
      if (arm64) prebuilt.push('linux-arm64');
    }

    const packed = check('npm pack: only what users need, within the size budget', () => {
      const result = pack(staged, path.join(work, 'packed'));
      const manifest = JSON.parse(fs.readFileSync(path.join(staged, 'package.json'), 'utf8'));
      facts.tarball = { file: path.basename(result.tarball), packed: result.packed, unpacked: result.unpacked, files: result.files.length, budget: BUDGET, groups: sizeByGroup(result) };
      expectEmpty(checkContents(result, manifest, { prebuilds: withArm64 ? ['linux-x64', 'linux-arm64'] : ['linux-x64'] }), 'tarball');
      facts.subpaths = Object.keys(manifest.exports).filter((subpath) => !subpath.endsWith('.json'));
      return `${result.packed} B packed, ${result.unpacked} B unpacked, ${result.files.length} files`;
    });
    if (!packed || !x64) return;
    const tarball = path.join(work, 'packed', facts.tarball.file);
    const { env, npm } = consumers.noCompilerEnv(path.join(work, 'no-compiler'));
    const x64Binary = prebuildPath('x64');

    const cjs = check('CommonJS project: install with no compiler reachable, require("sockclose")', () => {
      const consumer = consumers.installConsumer(work, 'cjs', tarball, { env, type: 'commonjs' });
      expectEmpty(consumers.checkInstall(consumer, { arch: 'x64' }), 'install');
      const report = consumers.runProgram(consumer, 'use-require.cjs', { env, expectBinary: x64Binary });
      const exported = consumers.runProgram(consumer, 'check-exports.cjs', { env });
      facts.cjsConsumer = consumer.dir;
      return { consumer, detail: `${reportLine(report)}; subpaths ${exported.subpaths.map((entry) => entry.specifier).join(', ')}; install ${consumer.seconds.toFixed(1)} s` };
    });

    if (cjs) {
      check('musl (node-gyp-build LIBC=musl): the glibc prebuild is not used; install compiles, else JS-only saying why', () => {
        const { problems, reason } = consumers.checkMusl(cjs.consumer, { env, npm });
        expectEmpty(problems, 'musl');
        return `capabilities().reason: ${reason.split('\n')[0]}`;
      });
    }

    check('ES module project: install with no compiler reachable, named imports', () => {
      const consumer = consumers.installConsumer(work, 'esm', tarball, { env, type: 'module' });
      expectEmpty(consumers.checkInstall(consumer, { arch: 'x64' }), 'install');
      const report = consumers.runProgram(consumer, 'use-import.mjs', { env, expectBinary: x64Binary });
      return `${reportLine(report)}; ${report.namedExports} named exports`;
    });

    check('install with --ignore-scripts (as with npm allowScripts / pnpm): the prebuild still loads', () => {
      const consumer = consumers.installConsumer(work, 'no-scripts', tarball, { env, npmArgs: ['--ignore-scripts'] });
      expectEmpty(consumers.checkInstall(consumer, { arch: 'x64' }), 'install');
      return reportLine(consumers.runProgram(consumer, 'use-require.cjs', { env, expectBinary: x64Binary }));
    });

    const ts = check('TypeScript project: install (@types/node, typescript@5)', () => {
      const consumer = consumers.installConsumer(work, 'typescript', tarball, {
        env,
        devDependencies: { '@types/node': consumers.typesNodeVersion(), typescript: '5' },
      });
      consumers.writeTypeScriptSources(consumer.dir, facts.subpaths);
      return consumer;
    });
    if (ts) {
      const tsc7 = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
      const tsc5 = path.join(ts.dir, 'node_modules', 'typescript', 'bin', 'tsc');
      for (const [label, bin] of [
        [`TypeScript ${require(path.join(repoRoot, 'node_modules', 'typescript', 'package.json')).version}`, tsc7],
        [`TypeScript ${JSON.parse(fs.readFileSync(path.join(ts.dir, 'node_modules', 'typescript', 'package.json'), 'utf8')).version}`, tsc5],
      ]) {
        check(`${label}: strict type check under moduleResolution ${consumers.typeCheckModes(bin).join(', ')}`, () => {
          const timings = consumers.typeCheck(ts.dir, bin, { env, label });
          return Object.entries(timings).map(([mode, seconds]) => `${mode} ${seconds.toFixed(1)} s`).join(', ');
        });
      }
    }

    if (withArm64 && prebuilt.includes('linux-arm64') && cjs) checkArm64(work, tarball);
    if (value('--out') && checks.every((entry) => entry.ok)) {
      const out = path.resolve(value('--out'));
      fs.mkdirSync(out, { recursive: true });
      fs.copyFileSync(tarball, path.join(out, path.basename(tarball)));
      facts.verifiedTarball = path.join(out, path.basename(tarball));
      process.stderr.write(`verified tarball: ${facts.verifiedTarball}\n`);
    }
  } finally {
    if (option('--keep')) process.stderr.write(`work directory kept: ${work}\n`);
    else {
      removeStage(staged);
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
}

/**
 * npm installs the tarball under qemu-user on arm64 (with the newest pinned arm64 Node: npm 11
 * needs Node >= 20.17), then every pinned arm64 Node loads and uses the installed package. The
 * ES module entry runs with the installing version; require with every version (Node 18's arm64
 * binary starts slowly under qemu 7.2: about 28 s, against 1.5 s for Node 20+).
 */
function checkArm64(work, tarball) {
  const qemu = check('qemu-user for arm64 is available', () => launcher('arm64').join(' '));
  if (!qemu) return;
  const newest = versions.arm64[versions.arm64.length - 1];
  const expectBinary = prebuildPath('arm64');
  const arm64Env = (version) => {
    const { node } = nodeBinary(version, 'arm64');
    const { env, bin } = consumers.noCompilerEnv(path.join(work, `arm64-${version}`), { node, launcher: launcher('arm64') });
    return { env, node: path.join(bin, 'node') };
  };
  const consumer = check(`arm64: npm install under qemu with Node ${newest} (no compiler), then import { … } from "sockclose"`, () => {
    const { env, node } = arm64Env(newest);
    const installed = consumers.installConsumer(work, 'arm64', tarball, { env, type: 'commonjs', timeoutMs: 600_000 });
    expectEmpty(consumers.checkInstall(installed, { arch: 'arm64' }), 'install');
    const imported = consumers.runProgram(installed, 'use-import.mjs', { env, node, expectBinary, timeoutMs: 300_000 });
    if (imported.arch !== 'arm64') throw new Error(`ran as ${imported.arch}`);
    facts.arm64Install = { seconds: Number(installed.seconds.toFixed(1)) };
    return installed;
  });
  if (!consumer) return;
  const hashes = new Set();
  for (const version of versions.arm64) {
    check(`arm64: Node ${version} under qemu, require("sockclose"): the arm64 prebuild, on real sockets`, () => {
      const { env, node } = arm64Env(version);
      const report = consumers.runProgram(consumer, 'use-require.cjs', { env, node, expectBinary, timeoutMs: 300_000 });
      if (report.arch !== 'arm64' || report.node !== `v${version}`) throw new Error(`ran as ${report.node} ${report.arch}`);
      hashes.add(report.binarySha256);
      return reportLine(report);
    });
  }
  // One binary for every Node version: the same file, byte for byte, served them all.
  check('arm64: one binary served every Node version', () => {
    if (hashes.size !== 1) throw new Error(`${hashes.size} different binaries loaded`);
    return [...hashes][0];
  });
}

try {
  main();
} catch (error) {
  // Whatever went wrong outside a check must still end in the summary, not in a bare stack trace.
  checks.push({ name: 'check:dist itself', ok: false, seconds: 0, detail: error.stack ?? String(error) });
  process.stderr.write(`FAIL check:dist itself\n     ${String(error.stack ?? error).split('\n').join('\n     ')}\n`);
}
const failed = checks.filter((entry) => !entry.ok).length;
const report = { passed: checks.length - failed, failed, checks, ...facts };
if (value('--report')) fs.writeFileSync(path.resolve(value('--report')), `${JSON.stringify(report, null, 2)}\n`);
if (option('--json')) console.log(JSON.stringify(report, null, 2));
if (facts.tarball) {
  const groups = Object.entries(facts.tarball.groups).map(([group, bytes]) => `${group} ${(bytes / 1024).toFixed(1)} KB`).join(', ');
  process.stderr.write(`\ntarball ${facts.tarball.file}: ${(facts.tarball.packed / 1024).toFixed(1)} KB packed, ${(facts.tarball.unpacked / 1024).toFixed(1)} KB unpacked, ${facts.tarball.files} files (${groups})\n`);
}
process.stderr.write(`${lastLine({ passed: report.passed, checks, out: value('--out'), verifiedTarball: facts.verifiedTarball })}\n`);
process.exit(failed === 0 && checks.length > 0 ? 0 : 1);
