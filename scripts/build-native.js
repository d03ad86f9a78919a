// Development build of the addon (npm run build:native): node-gyp with warnings as errors.
// Incremental: configures only when build/ is missing or binding.gyp changed, then lets make
// rebuild what changed, so a test run never uses a binary older than its sources.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { runNodeGyp } = require('./node-gyp.js');

const root = path.resolve(__dirname, '..');
const makefile = path.join(root, 'build', 'Makefile');
const stamp = path.join(root, 'build', 'sockclose-werror.stamp');

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

if (process.platform === 'win32') {
  console.log('sockclose: nothing to build on Windows (Node exposes no socket descriptors there)');
  process.exit(0);
}

// Configure again when build/ is absent, binding.gyp is newer, or build/ came from a lenient
// configure (install.js, prebuildify) rather than this strict one.
if (mtime(stamp) < 0 || mtime(binding()) > mtime(makefile)) {
  const status = runNodeGyp(['configure', '--', '-Dsockclose_werror=true'], { cwd: root });
  if (status !== 0) process.exit(status);
  fs.writeFileSync(stamp, 'configured with -Dsockclose_werror=true\n');
}
process.exit(runNodeGyp(['build'], { cwd: root }));

function binding() {
  return path.join(root, 'binding.gyp');
}
