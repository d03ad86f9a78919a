// An environment in which no C/C++ toolchain is reachable, for installing the packed tarball the
// way a user without build tools would: PATH holds one directory with only node, npm and sh, and
// CC/CXX name /bin/false. If sockclose then has a native binary, it came from the prebuild.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { which } = require('./prebuilds.js');

/** Build tools that must not be found (node-gyp needs make and a C++ compiler; cmake-js cmake). */
const COMPILERS = ['cc', 'c++', 'gcc', 'g++', 'clang', 'clang++', 'make', 'gmake', 'cmake', 'ninja', 'ld'];

/** npm's own CLI script (not a wrapper that could put /usr/bin back on PATH). */
function npmCli() {
  const candidates = [process.env.npm_execpath, which('npm')].filter(Boolean).map((file) => fs.realpathSync(file));
  const cli = candidates.find((file) => /npm-cli\.js$/.test(file));
  if (!cli) throw new Error(`npm-cli.js not found (tried ${candidates.join(', ') || 'nothing'})`);
  return cli;
}

/**
 * Creates `<dir>/bin` with node (the given binary), npm and sh, and returns { env, bin, npm }:
 * an environment whose PATH is that directory alone. `launcher` (a qemu-user prefix) makes `node`
 * a small sh wrapper running the binary through it, so npm and every script it starts run on the
 * emulated arch. npm_* variables from a parent npm run are dropped so the consumer's npm reads
 * only its own configuration.
 */
function noCompilerEnv(dir, { node = process.execPath, launcher = [] } = {}) {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const npm = npmCli();
  for (const [name, target] of Object.entries({ npm, sh: '/bin/sh' })) {
    const link = path.join(bin, name);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(target, link);
  }
  const nodeLink = path.join(bin, 'node');
  fs.rmSync(nodeLink, { force: true });
  if (launcher.length === 0) {
    fs.symlinkSync(node, nodeLink);
  } else {
    const quote = (word) => `'${word.replace(/'/g, "'\\''")}'`;
    fs.writeFileSync(nodeLink, `#!/bin/sh\nexec ${[...launcher, node].map(quote).join(' ')} "$@"\n`, { mode: 0o755 });
  }
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'SOCKCLOSE_BINARY'));
  Object.assign(env, { PATH: bin, CC: '/bin/false', CXX: '/bin/false', LINK: '/bin/false' });
  delete env.NODE_OPTIONS;
  return { env, bin, npm };
}

/** The build tools reachable on `searchPath` (an empty object when none is). */
function reachableCompilers(searchPath) {
  const found = {};
  for (const name of COMPILERS) {
    const file = which(name, searchPath);
    if (file) found[name] = file;
  }
  return found;
}

module.exports = { COMPILERS, noCompilerEnv, npmCli, reachableCompilers };
