#!/usr/bin/env node
// `npm run test:valgrind`: runs scripts/asan/exercise-native.cjs (every native function, every path,
// addon instances created and destroyed in workers) under valgrind's memcheck, with the normal
// build of the addon (whatever the loader picks: build/Release, then prebuilds/). Fails on any
// memcheck error (invalid read/write, use of uninitialised memory, bad free) and on any
// "definitely lost" block.
//
//   node scripts/asan/valgrind.js [repetitions]      (default 50; ~30 s of CPU)
//
// First a self-test proves the check can fail (see selfTest()).
//
// Node's own noise: none of it is suppressed, because none of it is "definite". Node 20 leaves
// reachable memory at exit by design ("still reachable", not reported), and one "possibly lost"
// block: the thread-local storage of the inspector's thread (allocate_dtv under pthread_create in
// node::inspector::Agent::Start), which still runs at exit. "Possibly lost" blocks are listed here
// for the record but do not fail the run; if a future Node adds definite leaks of its own, name
// them in a suppression file next to this script (node.supp, passed with --suppressions) with the
// reason, rather than loosening the check.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const repetitions = process.argv[2] ?? '50';
const suppressions = path.join(__dirname, 'node.supp');

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('[valgrind] valgrind is not installed (Debian: apt-get install valgrind)');
  process.exit(1);
}

const MEMCHECK = [
  '--tool=memcheck',
  '--leak-check=full',
  '--show-leak-kinds=definite,possible',
  '--errors-for-leak-kinds=definite',
  '--error-exitcode=97',
  '--num-callers=40',
  ...(fs.existsSync(suppressions) ? [`--suppressions=${suppressions}`] : []),
];
// The normal build, as users load it: no sanitizer preload, no binary override.
const env = { ...process.env };
delete env.LD_PRELOAD;
delete env.SOCKCLOSE_BINARY;
delete env.NODE_OPTIONS;
const number = (text) => Number(text.replace(/,/g, ''));

/** Runs `node ...nodeArgs` under memcheck; its status, stdout and the log of the process that ran `marker`. */
function memcheck(logDir, nodeArgs, marker) {
  const args = [...MEMCHECK, `--log-file=${logDir}/memcheck.%p.log`, process.execPath, ...nodeArgs];
  const run = spawnSync('valgrind', args, { cwd: root, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const logs = fs.readdirSync(logDir).map((name) => fs.readFileSync(path.join(logDir, name), 'utf8'));
  return { run, main: logs.find((text) => text.includes(marker)) ?? logs.join('\n') };
}

/** What memcheck found wrong in one run: a non-zero exit, errors, definite leaks. */
function verdictOf(run, main) {
  const found = [];
  const definite = /definitely lost: ([\d,]+) bytes in ([\d,]+) blocks/.exec(main);
  const errors = /ERROR SUMMARY: ([\d,]+) errors/.exec(main);
  if (run.status !== 0) found.push(`valgrind exited with ${run.status}${run.signal ? ` (${run.signal})` : ''}`);
  if (!errors) found.push('no ERROR SUMMARY in the memcheck log');
  else if (number(errors[1]) > 0) found.push(`${errors[1]} memcheck errors`);
  // No LEAK SUMMARY at all means nothing was lost.
  if (definite && number(definite[1]) > 0) found.push(`definitely lost: ${definite[1]} bytes in ${definite[2]} blocks`);
  return { found, definite, errors };
}

// The self-test: the same memcheck options and the same verdict over a shared object with one
// invalid read and a definite leak in its constructor, loaded into Node as an addon is
// (process.dlopen: the constructor runs, then Node refuses the object, which registers no module).
// The run stops unless the verdict names both: a check that cannot fail proves nothing.
function selfTest() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-valgrind-selftest-'));
  try {
    const source = path.join(dir, 'broken.c');
    fs.writeFileSync(
      source,
      [
        '#include <stdlib.h>',
        'volatile char sink;',
        '__attribute__((constructor)) static void broken(void) {',
        '  char* bytes = malloc(16);',
        '  sink = bytes[16]; /* an invalid read, one past the block */',
        '  free(bytes);',
        '  for (int i = 0; i < 8; i++) { void* volatile lost = malloc(64); lost = 0; (void)lost; } /* definitely lost */',
        '}',
        '',
      ].join('\n'),
    );
    const object = path.join(dir, 'broken.so');
    execFileSync('cc', ['-shared', '-fPIC', '-O0', '-g', '-o', object, source]);
    const logDir = path.join(dir, 'logs');
    fs.mkdirSync(logDir);
    const script = `try { process.dlopen({ exports: {} }, ${JSON.stringify(object)}); } catch {} // valgrind-self-test`;
    const { run, main } = memcheck(logDir, ['-e', script], 'valgrind-self-test');
    const { found } = verdictOf(run, main);
    const caught = found.some((text) => / memcheck errors$/.test(text)) && found.some((text) => text.startsWith('definitely lost'));
    if (!caught || !/Invalid read of size 1/.test(main)) {
      console.error(`[valgrind] self-test FAILED: a shared object with an invalid read and a definite leak was judged ${JSON.stringify(found)}`);
      console.error(main.slice(-3000));
      process.exit(1);
    }
    console.log(`[valgrind] self-test: a deliberate invalid read and leak were caught (${found.join('; ')})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

selfTest();
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-valgrind-'));
console.log(`[valgrind] valgrind ${MEMCHECK.join(' ')} node exercise-native.cjs ${repetitions}`);
const started = Date.now();
const { run, main } = memcheck(logDir, [path.join(__dirname, 'exercise-native.cjs'), repetitions], 'exercise-native.cjs');
const seconds = ((Date.now() - started) / 1000).toFixed(0);

const { found: problems, definite, errors } = verdictOf(run, main);
const possible = /possibly lost: ([\d,]+) bytes in ([\d,]+) blocks/.exec(main);

// The exercise really ran every native function, on success and failure paths.
let calls = {};
try {
  calls = JSON.parse(run.stdout.trim().split('\n').at(-1)).calls;
} catch {
  problems.push(`exercise-native.cjs printed no report: ${run.stdout.slice(-500)} ${run.stderr.slice(-1500)}`);
}
const keys = Object.keys(calls);
for (const wanted of [/^probe tcp ok/, /^probe closed error/, /^probe file error/, /^setLinger tcp ok/, /^setLinger closed error/, /^getLinger tcp ok/, /^getLinger file error/, /^takeError tcp ok/, /^takeError closed error/, /^shutdownWrite /, /^close file 0/, /^close closed -9/, /threw ERR_INVALID_ARG_TYPE/, /threw ERR_OUT_OF_RANGE/, /detached record\) threw ERR_SOCKCLOSE_NATIVE_STATE/, /^attach/, /^public round/, /^worker/, ...(process.platform === 'linux' ? [/^watched trickle: eof/, /^watched drain: drain-limit/, /^watched reset: error/, /^watched stale: idle-timeout/] : [])]) {
  if (!keys.some((key) => wanted.test(key))) problems.push(`the exercise never reached ${wanted}`);
}

console.log(`[valgrind] ${seconds} s; ${errors ? errors[0] : 'no error summary'}; definitely lost: ${definite ? `${definite[1]} bytes` : '0 (no leak summary)'}; possibly lost: ${possible ? `${possible[1]} bytes in ${possible[2]} blocks` : '0'}; ${keys.length} distinct native call outcomes exercised`);
if (possible && number(possible[1]) > 0) {
  // For the record: which stacks the "possibly lost" blocks come from (Node's own, see above).
  const records = main.split(/\n(?===\d+== \n)/).filter((block) => /are possibly lost/.test(block));
  for (const record of records) {
    const frames = record.split('\n').filter((line) => /(by|at) 0x/.test(line)).map((line) => line.replace(/^==\d+==\s+/, '').replace(/\(in .*\)$/, '').slice(0, 140));
    console.log(`[valgrind] possibly lost (not counted): ${frames.slice(0, 8).join(' <- ')}`);
  }
}
if (problems.length > 0) {
  // The verdict last: a CI log may keep only its tail.
  console.error(main.slice(-6000));
  if (run.stderr.trim()) console.error(`[valgrind] the exercise's stderr, its end:\n${run.stderr.slice(-2000)}`);
  console.error(`[valgrind] FAILED: ${problems.join('; ')}\n[valgrind] logs kept in ${logDir}`);
  process.exit(1);
}
fs.rmSync(logDir, { recursive: true, force: true });
console.log('[valgrind] no memcheck error, no definite leak');
