#!/usr/bin/env node
// `npm run test:asan`: builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into
// build-asan/ (cmake-js --out build-asan; build/ and build-cmake/ are never touched), then runs the
// tests that reach the native layer against that binary, with gcc's libasan preloaded (Node itself
// is not instrumented, so the ASan runtime must come first in the process).
//
//   node scripts/asan/run.js [--no-build] [--no-self-test] [--poller=uv] [--json=FILE] [--verdict=FILE]
//                            [test paths...]
//
// --poller=uv: the lingerer's portable poller (native/poller_uv.cc: a uv_poll_t per connection,
// what macOS, the BSDs and AIX run) instead of Linux's epoll one, built into build-asan-uv/. CI's
// ASan step runs test/lingering on it: the only run of that poller's tests in CI.
// --json: vitest's JSON report. --verdict: {"passed": 1, "failed": 0} when the self-test passed and
// no sanitizer report was found, else {"passed": 0, "failed": 1} (for CI's tally, which would
// otherwise see only the tests).
//
// First a self-test proves the chain can fail: a copy of the addon with deliberate errors (in a
// static initializer added to the copy: it does not depend on the sources' text) is built with the
// same flags and loaded twice under the same environment, once with a heap overflow only ASan can
// see, once with a signed overflow only UBSan checks; the run stops unless each sanitizer reports
// its own.
//
// Zero reports or it fails: every sanitizer report aborts the process that hit it
// (halt_on_error, -fno-sanitize-recover=all) and is also written to a log file per process
// (log_path), including the test's child processes (fixtures, workers' hosts); after the run the
// log directory and the runner's own stderr are scanned for reports.
//
// Options chosen, and why:
// - detect_leaks=0: LeakSanitizer would report Node's own allocations that live until exit (Node
//   does not free everything at exit, by design). Leaks are checked by valgrind instead
//   (scripts/asan/valgrind.js), which can tell Node's from ours.
// - allow_user_segv_handler=1: V8 installs its own SIGSEGV handler (WebAssembly trap handling).
// - --no-isolate: each vitest worker runs its test files one after another in one process, where
//   the main suite forks a process per file. Under the preloaded ASan runtime a process costs
//   ~1.2 s of CPU to start (its allocator serves V8 and Node too), and memory errors are found as
//   well in a long-lived process: better, since the addon's per-process state then outlives many
//   files' sockets, as in a server. 2026-12-07: the lingering tests on the uv poller took 143 s
//   of CPU isolated, 91 s not (103 against 76 s wall); this step was a quarter of CI's time on a
//   loaded machine. Four runs of the whole suite without isolation, files shuffled, found one race (a
//   test's abort before the peer's bytes had arrived, since fixed) and, outside the files run
//   here, promises of the harness tests left unawaited, which only a process that outlives the
//   file reports.
// - The soak runs 5,000 connections here (20,000 in the main suite): the sanitizer run is about
//   memory errors on every path, which 5,000 mixed connections reach many times over.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const poller = process.argv.includes('--poller=uv') ? 'uv' : null;
const outName = poller === 'uv' ? 'build-asan-uv' : 'build-asan';
const binary = path.join(root, outName, 'Debug', 'sockclose.node');
const DEFAULT_TESTS = ['test/smoke.test.ts', 'test/core', 'test/robustness', 'test/lingering'];
const SANITIZE = '-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1';

function parseArgs(argv) {
  const options = { build: true, selfTest: true, json: null, verdict: null, tests: [] };
  for (const arg of argv) {
    if (arg === '--no-build') options.build = false;
    else if (arg === '--no-self-test') options.selfTest = false;
    else if (arg === '--poller=uv') continue; // read above: it names the build directory
    else if (arg.startsWith('--poller=')) throw new Error(`--poller takes uv (the default is the platform's own), not ${arg.slice(9)}`);
    else if (arg.startsWith('--json=')) options.json = path.resolve(arg.slice('--json='.length));
    else if (arg.startsWith('--verdict=')) options.verdict = path.resolve(arg.slice('--verdict='.length));
    else options.tests.push(arg);
  }
  if (options.tests.length === 0) options.tests = DEFAULT_TESTS.filter((test) => fs.existsSync(path.join(root, test)));
  return options;
}

function step(message) {
  console.log(`\n[asan] ${message}`);
}

/** cmake-js compile of the project in `dir` into `dir`/build-asan[-uv]/Debug, sanitizers on. */
function build(dir = root, stdio = 'inherit') {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  execFileSync(
    process.execPath,
    // The flags go in CMAKE_CXX_FLAGS_DEBUG: cmake-js sets CMAKE_CXX_FLAGS itself, after ours.
    [
      cmakeJs,
      'compile',
      '--debug',
      '--out',
      outName,
      '--CDSOCKCLOSE_WERROR=ON',
      ...(poller ? [`--CDSOCKCLOSE_POLLER=${poller}`] : []),
      `--CDCMAKE_CXX_FLAGS_DEBUG=-g ${SANITIZE}`,
      '--CDCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined',
    ],
    { cwd: dir, stdio },
  );
  return path.join(dir, outName, 'Debug', 'sockclose.node');
}

const INJECTED_BUG = `
// sockclose sanitizer self-test: one deliberate error when the binary loads, chosen by
// SOCKCLOSE_SANITIZER_SELF_TEST ("address" or "undefined"; unset: none).
#include <climits>
#include <cstdlib>
namespace {
int SanitizerSelfTest() {
  const char* which = std::getenv("SOCKCLOSE_SANITIZER_SELF_TEST");
  if (which == nullptr) return 0;
  volatile int size = 8;
  if (which[0] == 'a') {
    // A heap overflow only ASan sees: with a size the compiler cannot know, UBSan's object-size
    // check has nothing to compare with (with new char[8], it reported the overflow first).
    volatile char* bytes = new char[size];
    bytes[size] = 1;
    delete[] bytes;
  } else if (which[0] == 'u') {
    // A signed overflow, which only UBSan checks.
    volatile int big = INT_MAX;
    size = big + 1;
  }
  return size;
}
const int kSelfTest = SanitizerSelfTest();
}  // namespace
`;

// Each sanitizer must report its own deliberate error: a report from the other one (UBSan's
// object-size check used to catch the heap overflow before ASan did) proves nothing about this one.
const SELF_TESTS = [
  { which: 'address', expected: /ERROR: AddressSanitizer: heap-buffer-overflow/ },
  { which: 'undefined', expected: /runtime error: signed integer overflow/ },
];

/** Builds a copy of the addon with deliberate errors and checks that each sanitizer reports its own. */
function selfTest(env) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-asan-selftest-'));
  try {
    for (const entry of ['native', 'CMakeLists.txt', 'package.json']) fs.cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    fs.appendFileSync(path.join(dir, 'native', 'sys_posix.cc'), INJECTED_BUG);
    const broken = build(dir, 'ignore');
    for (const { which, expected } of SELF_TESTS) {
      const logDir = path.join(dir, `logs-${which}`);
      fs.mkdirSync(logDir);
      const child = require('node:child_process').spawnSync(
        process.execPath,
        ['-e', `require(${JSON.stringify(path.join(root, 'lib', 'index.js'))}).capabilities()`],
        {
          env: {
            ...env,
            SOCKCLOSE_BINARY: broken,
            SOCKCLOSE_SANITIZER_SELF_TEST: which,
            ASAN_OPTIONS: env.ASAN_OPTIONS.replace(/log_path=[^:]*/, `log_path=${logDir}/asan`),
            UBSAN_OPTIONS: env.UBSAN_OPTIONS.replace(/log_path=[^:]*/, `log_path=${logDir}/ubsan`),
          },
          encoding: 'utf8',
        },
      );
      const logs = fs.readdirSync(logDir).map((name) => fs.readFileSync(path.join(logDir, name), 'utf8')).join('\n');
      const report = expected.exec(`${logs}\n${child.stderr}`);
      if (child.status === 0 || !report) {
        throw new Error(
          `self-test failed: the deliberate ${which} error went unreported by its sanitizer (exit ${child.status}; wanted ${expected}): ${logs.slice(0, 2000)}${child.stderr.slice(0, 2000)}`,
        );
      }
      step(`self-test (${which}): the deliberate error was reported ("${report[0]}") and the process exited with ${child.status}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The binary really is instrumented: it calls into both runtimes and needs them loaded. */
function checkInstrumented() {
  const undefinedSymbols = execFileSync('nm', ['-D', '--undefined-only', binary], { encoding: 'utf8' });
  const needed = execFileSync('readelf', ['-d', binary], { encoding: 'utf8' });
  const problems = [];
  if (!/__asan_report_(load|store)/.test(undefinedSymbols)) problems.push('no __asan_report_* calls (not instrumented by ASan)');
  if (!/__ubsan_handle_/.test(undefinedSymbols)) problems.push('no __ubsan_handle_* calls (not instrumented by UBSan)');
  if (!/libasan\.so/.test(needed)) problems.push('does not link libasan');
  if (problems.length) throw new Error(`${binary}: ${problems.join('; ')}`);
}

function libasan() {
  const file = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
  if (!path.isAbsolute(file) || !fs.existsSync(file)) throw new Error(`gcc has no libasan (got "${file}"): install gcc's libasan (Debian: libasan8, a dependency of gcc-12)`);
  return fs.realpathSync(file);
}

const REPORT = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)|ASan runtime does not come first/;

const options = parseArgs(process.argv.slice(2));

function verdict(clean) {
  if (options.verdict) fs.writeFileSync(options.verdict, JSON.stringify({ passed: clean ? 1 : 0, failed: clean ? 0 : 1 }));
}

function main() {
  if (options.build) {
    step(`building ${path.relative(root, binary)} (${SANITIZE})`);
    build();
  }
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run without --no-build`);
  checkInstrumented();

  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-asan-'));
  const env = {
    ...process.env,
    LD_PRELOAD: libasan(),
    ASAN_OPTIONS: `detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=86:allow_user_segv_handler=1:print_summary=1:log_path=${logDir}/asan`,
    UBSAN_OPTIONS: `halt_on_error=1:print_stacktrace=1:print_summary=1:log_path=${logDir}/ubsan`,
    SOCKCLOSE_BINARY: binary,
    SOCKCLOSE_SOAK_CONNECTIONS: process.env.SOCKCLOSE_SOAK_CONNECTIONS ?? '5000',
  };

  if (options.selfTest) selfTest(env);

  // The binary is loaded, and is the instrumented one (test/smoke.test.ts checks this too).
  const loaded = JSON.parse(
    execFileSync(process.execPath, ['-p', `JSON.stringify(require(${JSON.stringify(path.join(root, 'lib', 'index.js'))}).capabilities())`], { env, encoding: 'utf8' }),
  );
  if (!loaded.native || loaded.binary !== binary) throw new Error(`the ASan binary did not load: ${JSON.stringify(loaded)}`);
  // And its lingerer runs the poller asked for: the epoll one names the call that prepares it, the
  // uv one has none.
  const prepareCall = execFileSync(
    process.execPath,
    ['-p', `require(${JSON.stringify(path.join(root, 'lib', 'native', 'binding.js'))}).binding().lingerPrepareCall`],
    { env, encoding: 'utf8' },
  ).trim();
  if ((prepareCall === '') !== (poller === 'uv')) throw new Error(`the ASan binary's poller is not the one asked for (its prepare call: "${prepareCall}")`);
  step(`binary loaded under ${env.LD_PRELOAD}; reports go to ${logDir}`);

  // vitest's bin script (its exports map does not expose the file, so find it from package.json).
  const vitestPackage = require.resolve('vitest/package.json', { paths: [root] });
  const vitest = path.join(path.dirname(vitestPackage), require(vitestPackage).bin.vitest);
  // --no-isolate: see the header (one process per worker, not one per test file).
  const args = [vitest, 'run', ...options.tests, '--reporter=default', '--no-isolate'];
  if (options.json) args.push('--reporter=json', `--outputFile.json=${options.json}`);
  step(`npx vitest run ${options.tests.join(' ')}`);
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    stderr += chunk;
    if (stderr.length > 4 << 20) stderr = stderr.slice(-(2 << 20));
  });
  child.on('exit', (code, signal) => {
    const logs = fs.readdirSync(logDir).map((name) => path.join(logDir, name));
    const reports = logs.map((file) => fs.readFileSync(file, 'utf8')).filter((text) => REPORT.test(text));
    if (REPORT.test(stderr)) reports.push(stderr.split('\n').filter((line) => REPORT.test(line)).join('\n'));
    step(`vitest exited with ${signal ?? code}; sanitizer reports: ${reports.length}`);
    for (const report of reports) console.error(`\n${report}`);
    verdict(reports.length === 0);
    if (reports.length === 0) fs.rmSync(logDir, { recursive: true, force: true });
    else console.error(`[asan] reports kept in ${logDir}`);
    process.exit(code === 0 && reports.length === 0 ? 0 : 1);
  });
}

try {
  main();
} catch (error) {
  console.error(`[asan] ${error.message}`);
  verdict(false);
  process.exit(1);
}
