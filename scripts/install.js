// `install` script, run when sockclose is installed as a dependency (and by `npm rebuild
// sockclose`). Never fails the install: without a native binary sockclose still loads in
// JavaScript-only mode, and says why at run time. Set SOCKCLOSE_REQUIRE_NATIVE=1 to make a failed
// build fail the install instead.
'use strict';
const { spawnSync } = require('node:child_process');
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

/**
 * What require('sockclose') would load here, asked in a fresh process with the loader's own checks
 * (ELF header, dlopen, interface version): { native, skipped, reason }. node-gyp-build alone would
 * accept any .node file under build/, a stale or cut-short one included, which the loader then
 * passes over (or, without a prebuild, cannot use): `npm rebuild sockclose` must replace it.
 */
function usable() {
  const loader = path.join(root, 'lib', 'native', 'binding.js');
  const script =
    `const b = require(${JSON.stringify(loader)});` +
    'process.stdout.write(JSON.stringify({ native: b.binding() !== null, skipped: b.skippedBinary(), reason: b.unavailableReason() }));';
  const env = { ...process.env };
  delete env.SOCKCLOSE_BINARY; // an exact binary named for run time is not what the package holds
  const result = spawnSync(process.execPath, ['-e', script], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  try {
    return JSON.parse(result.stdout);
  } catch {
    return { native: false, skipped: null, reason: (result.stderr || '').trim().split('\n')[0] || 'the loader could not be asked' };
  }
}

const before = usable();
// A prebuild (or an earlier build) that loads, and no broken local build beside it: nothing to do.
if (before.native && before.skipped === null) done(null, false);

// No binary that loads here, or a local build that does not (stale, cut short, foreign): whatever
// build/ holds cannot be used (a usable one would have been loaded), so it goes, whether or not the
// compile below can run; then compile from source.
fs.rmSync(path.join(root, 'build'), { recursive: true, force: true });
const { runNodeGyp } = require('./node-gyp.js');
const status = runNodeGyp(['rebuild'], { cwd: root });
const after = usable();
if (after.native && after.skipped === null) done(null, false);
const fallback = after.native ? 'sockclose will use its prebuilt binary' : 'sockclose will run in JavaScript-only mode: see capabilities().reason';
if (status !== 0) {
  done(`could not build the native binary (a C++17 compiler, make and python3 are needed); ${fallback}`, true);
}
if (!fs.existsSync(path.join(root, 'build', 'Release', 'sockclose.node'))) {
  // binding.gyp builds nothing for a Unix it has no native/sys_*.cc layer for (illumos, Solaris, …).
  done(`no native layer for ${process.platform}-${process.arch} (the build makes no binary there); ${fallback}`, true);
}
done(`the binary just built cannot be used (${after.skipped ?? after.reason}); ${fallback}`, true);
