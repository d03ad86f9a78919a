// Runs the node:test compatibility suite (test/compat/*.compat.mjs) with a given Node binary and
// counts its results. Each file runs as its own process with node:test's TAP output, which every
// Node from 18.12 prints the same way (--test-reporter exists only from 18.15 / 19.6).
//
//   node scripts/dist/compat.js [--node <binary>]     exit status 0 when every test passed
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { run } = require('./run.js');
const { repoRoot } = require('./stage.js');

const SUITE = path.join(repoRoot, 'test', 'compat');

function compatFiles() {
  return fs
    .readdirSync(SUITE)
    .filter((name) => name.endsWith('.compat.mjs'))
    .sort()
    .map((name) => path.join(SUITE, name));
}

/** The version `node` reports, as [major, minor, patch]. */
function versionOf(node, launcher = []) {
  const [file, ...args] = [...launcher, node];
  const { stdout } = run(file, [...args, '-p', 'process.versions.node'], { timeoutMs: 60_000 });
  return stdout.trim().split('.').map(Number);
}

/** The TAP summary counts ("# pass N" ...) of one node:test run. */
function tapCounts(output) {
  const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1] ?? 0);
  return { tests: count('tests'), passed: count('pass'), failed: count('fail') + count('cancelled'), skipped: count('skipped') };
}

/**
 * Runs every compat file with `node` (through `launcher`, such as a qemu-user prefix) and returns
 * { node: 'vX.Y.Z', passed, failed, skipped, files: [{ file, ...counts, seconds }], failures }.
 */
function runCompat({ node = process.execPath, launcher = [], env = process.env, timeoutMs = 120_000 } = {}) {
  const [major, minor] = versionOf(node, launcher);
  const reporterFlag = major > 19 || (major === 19 && minor >= 6) || (major === 18 && minor >= 15) ? ['--test-reporter=tap'] : [];
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const files = [];
  const failures = [];
  // The matrix binary first on PATH: anything the suite spawns by name gets the same Node.
  const childEnv = { ...env, PATH: `${path.dirname(node)}${path.delimiter}${env.PATH ?? ''}` };
  delete childEnv.NODE_OPTIONS;
  for (const file of compatFiles()) {
    const started = process.hrtime.bigint();
    const [command, ...prefix] = [...launcher, node];
    const result = run(command, [...prefix, ...reporterFlag, file], { cwd: repoRoot, env: childEnv, timeoutMs, allowFailure: true });
    const output = `${result.stdout}${result.stderr}`;
    const counts = tapCounts(result.stdout);
    // A crash before the summary, or a non-zero exit with no failing test, still counts as a failure.
    if (counts.tests === 0 || (result.status !== 0 && counts.failed === 0)) counts.failed += 1;
    if (counts.failed > 0) failures.push(`${path.basename(file)}:\n${output.split('\n').filter((line) => /not ok|error|Error|expected|actual|#/.test(line)).slice(0, 40).join('\n')}`);
    totals.passed += counts.passed;
    totals.failed += counts.failed;
    totals.skipped += counts.skipped;
    files.push({ file: path.relative(repoRoot, file), ...counts, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
  }
  return { node: `v${versionOf(node, launcher).join('.')}`, ...totals, files, failures };
}

module.exports = { compatFiles, runCompat, tapCounts };

if (require.main === module) {
  const index = process.argv.indexOf('--node');
  const node = index > 0 ? path.resolve(process.argv[index + 1]) : process.execPath;
  const result = runCompat({ node });
  for (const file of result.files) console.log(`${file.file}: ${file.passed} passed, ${file.failed} failed, ${file.skipped} skipped (${file.seconds.toFixed(1)} s)`);
  for (const failure of result.failures) console.error(failure);
  console.log(`compat suite on Node ${result.node}: ${result.passed} passed, ${result.failed} failed`);
  process.exit(result.failed === 0 && result.passed > 0 ? 0 : 1);
}
