// Sums the test counts every CI step recorded in $CI_OUT and prints "N passed, N failed".
// Accepts vitest's JSON reporter files and plain {"passed": N, "failed": N} files.
//
//   node .ci/tally.js DIR                   the summary; exit 1 unless something passed and nothing failed
//   node .ci/tally.js DIR --failures STEP   silent; exit 0 if STEP's files record a failure, else 1
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
const onlyStep = process.argv[3] === '--failures' ? process.argv[4] : null;
let passed = 0;
let failed = 0;
/**
 * A vitest JSON report's counts. Its own totals undercount: a test file that fails to load (an
 * import error) or whose worker dies (a crash in the addon: its tests stay 'pending', even one that
 * ran) has no failed test, and the file a crash killed is even marked 'passed'. So: every test that
 * failed or never ran ('pending'; a deliberate skip or todo is 'skipped' / 'todo') is a failure, a
 * failed file with no failed test is one, and a run that did not succeed with none found is one.
 */
function vitestCounts(data) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const result of data.testResults ?? []) {
    let failedHere = 0;
    for (const test of result.assertionResults ?? []) {
      if (test.status === 'passed') passed++;
      else if (test.status === 'skipped' || test.status === 'todo') skipped++;
      else failedHere++;
    }
    if (result.status === 'failed' && failedHere === 0) failedHere = 1;
    failed += failedHere;
  }
  if (data.success === false && failed === 0) failed = 1;
  return { passed, failed, skipped };
}

const files = fs
  .readdirSync(dir)
  .filter((name) => name.endsWith('.json') && (onlyStep === null || name.startsWith(onlyStep)))
  .sort();
for (const file of files) {
  let counts;
  try {
    const data = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    counts = Array.isArray(data.testResults) ? vitestCounts(data) : { passed: Number(data.passed) || 0, failed: Number(data.failed) || 0, skipped: 0 };
  } catch (error) {
    counts = { passed: 0, failed: 1, skipped: 0 };
    if (onlyStep === null) console.log(`${file}: unreadable (${error.message})`);
  }
  passed += counts.passed;
  failed += counts.failed;
  if (onlyStep !== null) continue;
  const skipped = counts.skipped > 0 ? ` (${counts.skipped} skipped)` : '';
  console.log(`${file.replace(/\.json$/, '')}: ${counts.passed} passed, ${counts.failed} failed${skipped}`);
}
if (onlyStep !== null) process.exit(failed > 0 ? 0 : 1);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
