// Sums the test counts every CI step recorded in $CI_OUT and prints "N passed, N failed".
// Accepts vitest's JSON reporter files and plain {"passed": N, "failed": N} files.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
let passed = 0;
let failed = 0;
for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.json')).sort()) {
  let counts;
  try {
    const data = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    counts =
      typeof data.numPassedTests === 'number'
        ? { passed: data.numPassedTests, failed: data.numFailedTests + (data.success === false && data.numFailedTests === 0 ? 1 : 0) }
        : { passed: Number(data.passed) || 0, failed: Number(data.failed) || 0 };
  } catch (error) {
    counts = { passed: 0, failed: 1 };
    console.log(`${file}: unreadable (${error.message})`);
  }
  console.log(`${file.replace(/\.json$/, '')}: ${counts.passed} passed, ${counts.failed} failed`);
  passed += counts.passed;
  failed += counts.failed;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
