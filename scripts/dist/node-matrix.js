// The Node version matrix (scripts/dist/node-versions.json): for every line sockclose claims, its
// first LTS release and its newest pinned release, as official x64 binaries from the npm registry:
//
//  - the SAME built binary (this checkout's build/Release, or $SOCKCLOSE_BINARY, copied once so
//    that a rebuild during the run cannot swap it) loads and works on real sockets under every
//    version, with this checkout's lib/: Node-API means one binary, and this proves it by SHA-256;
//  - the node:test compatibility suite (test/compat) runs on every version;
//  - the vitest suite runs on the newest release of lines vitest 4 supports, other than the
//    machine's own Node (CI already runs the whole suite there): the whole suite minus
//    node-versions.json's vitestExclude (why each is left out is written there) where the line says
//    `"vitest": true`, the paths of handleTests where it says `"vitest": "handleTests"` (older lines:
//    the tests of what reads Node's handles); --vitest <path> (repeatable) runs those paths on every
//    such line.
//  - package.json "engines" must be exactly the range those floors prove.
//
// It never builds or writes into the checkout. Options: --report <file> (JSON with {passed, failed}
// for CI), --no-vitest, --only <major,...>, --vitest <path> (repeatable).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { runCompat } = require('./compat.js');
const { nodeBinary } = require('./node-binaries.js');
const { run } = require('./run.js');
const { repoRoot } = require('./stage.js');
const versions = require('./node-versions.json');

const argv = process.argv.slice(2);
const value = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const values = (name) => argv.flatMap((arg, index) => (arg === name ? [argv[index + 1]] : []));

/** The engines range the matrix proves: each line from its first LTS release. */
function provenEngines() {
  return Object.values(versions.lines)
    .map((line) => `^${line.floor}`)
    .join(' || ');
}

/** A line's `vitest`: false, true, or "handleTests" (one list that every such line shares). */
function vitestOf(major, vitest) {
  if (vitest === 'handleTests') return versions.handleTests;
  if (typeof vitest === 'boolean') return vitest;
  throw new Error(`node-versions.json: line ${major}'s vitest is true, false or "handleTests", not ${JSON.stringify(vitest)}`);
}

/**
 * Every version to run: [{ version, major, role: 'floor' | 'latest', vitest }]; `vitest` is false,
 * true (the suite minus vitestExclude) or the list of paths to run.
 */
function matrix(only) {
  const rows = [];
  for (const [major, line] of Object.entries(versions.lines)) {
    if (only && !only.includes(major)) continue;
    rows.push({ version: line.floor, major, role: 'floor', vitest: false });
    rows.push({ version: line.latest, major, role: 'latest', vitest: vitestOf(major, line.vitest) });
  }
  return rows;
}

/** The binary the checkout's lib/ loads, as node-gyp-build (or SOCKCLOSE_BINARY) picks it. */
function expectedBinary() {
  if (process.env.SOCKCLOSE_BINARY) return path.resolve(process.env.SOCKCLOSE_BINARY);
  return require(path.join(repoRoot, 'node_modules', 'node-gyp-build')).path(repoRoot);
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Runs the vitest suite with `node`; returns { passed, failed, seconds }. */
function runVitest(node, paths, label, baseEnv) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-matrix-')), 'vitest.json');
  const env = { ...baseEnv, PATH: `${path.dirname(node)}${path.delimiter}${baseEnv.PATH}`, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete env.NODE_OPTIONS;
  const args = [path.join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...paths, '--reporter=dot', '--reporter=json', `--outputFile.json=${out}`];
  if (paths.length === 0) for (const pattern of ['node_modules/**', ...versions.vitestExclude]) args.push('--exclude', pattern);
  const started = process.hrtime.bigint();
  let result;
  let counts = { passed: 0, failed: 1 };
  try {
    // A timeout still throws (allowFailure covers exit codes only): the folder goes either way.
    result = run(node, args, { cwd: repoRoot, env, timeoutMs: 1_200_000, allowFailure: true });
    const data = JSON.parse(fs.readFileSync(out, 'utf8'));
    counts = { passed: data.numPassedTests, failed: data.numFailedTests + (data.success === false && data.numFailedTests === 0 ? 1 : 0) };
  } catch (error) {
    // no report: the run itself failed; its output says why
    result ??= { stdout: '', stderr: error.message };
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const failures = counts.failed > 0 ? `${result.stdout}${result.stderr}`.split('\n').filter((line) => /FAIL|Error|✗|×/.test(line)).slice(0, 30).join('\n') : '';
  return { ...counts, seconds, failures, label };
}

function main() {
  const only = value('--only')?.split(',');
  const vitestPaths = values('--vitest');
  const rows = matrix(only);
  const results = [];
  let passed = 0;
  let failed = 0;
  const record = (name, ok, detail = '', count = 1) => {
    if (ok) passed += count;
    else failed += count;
    results.push({ name, ok, detail });
    process.stderr.write(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `\n     ${detail.split('\n').join('\n     ')}` : ''}\n`);
  };

  // After record() counted a suite as one check: count its tests one by one instead, passes and
  // failures both (a suite that ran nothing stays one failure).
  const countTests = (ok, counts) => {
    if (ok) {
      passed += counts.passed - 1;
    } else {
      passed += counts.passed;
      failed += Math.max(counts.failed, 1) - 1;
    }
  };

  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  const engines = provenEngines();
  record(`package.json engines.node is the proven range "${engines}"`, manifest.engines?.node === engines, `declared: "${manifest.engines?.node}"`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-matrix-'));
  const binary = path.join(work, 'sockclose.node');
  fs.copyFileSync(expectedBinary(), binary);
  const binaryHash = sha256(binary);
  const baseEnv = { ...process.env, SOCKCLOSE_BINARY: binary, SOCKCLOSE_COMPAT_EXPECT_BINARY: binary };
  const exercise = path.join(__dirname, 'consumer', 'exercise.cjs');
  const timings = [];

  for (const row of rows) {
    const label = `Node ${row.version} (${row.major}.x ${row.role})`;
    let node;
    try {
      const fetched = row.version === process.versions.node ? { node: process.execPath, cached: true, seconds: 0 } : nodeBinary(row.version, 'x64');
      node = fetched.node;
      timings.push({ version: row.version, fetchSeconds: Number(fetched.seconds.toFixed(1)), cached: fetched.cached });
    } catch (error) {
      record(`${label}: official binary from the npm registry`, false, error.message);
      continue;
    }
    try {
      const { stdout } = run(node, [exercise, path.join(repoRoot, 'lib', 'index.js')], {
        cwd: repoRoot,
        env: { ...baseEnv, PATH: `${path.dirname(node)}${path.delimiter}${baseEnv.PATH}` },
        timeoutMs: 60_000,
      });
      const report = JSON.parse(stdout.trim().split('\n').pop());
      const same = report.binary === binary && report.binarySha256 === binaryHash && report.node === `v${row.version}`;
      record(`${label}: loads the same binary and uses it on real sockets`, same, `${report.binary} sha256 ${report.binarySha256.slice(0, 16)}…, ${report.passed.length} checks`);
    } catch (error) {
      record(`${label}: loads the same binary and uses it on real sockets`, false, error.message);
    }
    const compat = runCompat({ node, env: baseEnv });
    record(`${label}: node:test compatibility suite`, compat.failed === 0 && compat.passed > 0, `${compat.passed} passed, ${compat.failed} failed, ${compat.skipped} skipped${compat.failures.length ? `\n${compat.failures.join('\n')}` : ''}`);
    // The compat suite's tests count one by one (not as one check).
    countTests(compat.failed === 0 && compat.passed > 0, compat);

    if (row.vitest && row.version !== process.versions.node && !argv.includes('--no-vitest')) {
      const paths = vitestPaths.length ? vitestPaths : Array.isArray(row.vitest) ? row.vitest : [];
      const vitest = runVitest(node, paths, label, baseEnv);
      record(`${label}: vitest ${paths.length ? paths.join(' ') : `suite without ${versions.vitestExclude.join(', ')}`}`, vitest.failed === 0 && vitest.passed > 0, `${vitest.passed} passed, ${vitest.failed} failed in ${vitest.seconds.toFixed(0)} s${vitest.failures ? `\n${vitest.failures}` : ''}`);
      countTests(vitest.failed === 0 && vitest.passed > 0, vitest);
    }
  }

  fs.rmSync(work, { recursive: true, force: true });
  const report = { passed, failed, engines, binary: expectedBinary(), binarySha256: binaryHash, results, timings };
  if (value('--report')) fs.writeFileSync(path.resolve(value('--report')), `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`node matrix: ${passed} passed, ${failed} failed\n`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

module.exports = { matrix, provenEngines };

if (require.main === module) main();
