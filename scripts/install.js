// `install` script, run when sockclose is installed as a dependency. Never fails the install:
// without a native binary sockclose still loads in JavaScript-only mode, and says why at run time.
// Set SOCKCLOSE_REQUIRE_NATIVE=1 to make a failed build fail the install instead.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const strict = process.env.SOCKCLOSE_REQUIRE_NATIVE === '1';

function done(message, failed) {
  if (message) console.warn(`sockclose: ${message}`);
  process.exit(failed && strict ? 1 : 0);
}

// In a development checkout `npm run build` (the prepare script) builds strictly instead.
if (fs.existsSync(path.join(root, 'src', 'index.ts'))) done(null, false);

if (process.platform === 'win32') {
  done('no native layer on Windows (Node exposes no socket descriptors); JavaScript-only mode', false);
}

try {
  require('node-gyp-build').path(root); // a prebuild (or an earlier build) fits this machine
  done(null, false);
} catch {
  // No prebuild for this platform: compile from source.
}

const { runNodeGyp } = require('./node-gyp.js');
const status = runNodeGyp(['rebuild'], { cwd: root });
if (status !== 0) {
  done(
    'could not build the native binary (a C++17 compiler, make and python3 are needed); ' +
      'sockclose will run in JavaScript-only mode: see capabilities().reason',
    true,
  );
}
done(null, false);
