// Runs node-gyp against the running Node's own headers when they are installed next to it
// (Debian's /usr/include/node, or an official tarball's include/node): nothing is downloaded.
// Quiet unless asked: node-gyp's ~37 `gyp info` lines and make's progress lines are left out;
// warnings, compiler diagnostics and errors always show. SOCKCLOSE_BUILD_VERBOSE=1 (or npm's
// --loglevel info/verbose/silly) shows everything.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** The directory holding include/node for the running Node, or null. */
function localNodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

/**
 * Node's headers (node_api.h, uv.h) for builds outside node-gyp (the AIX-layer test, the platform
 * check): the running Node's own, else the system's (Debian's nodejs package puts them in
 * /usr/include/node). The Node binaries the version matrix runs (npm packages) have none, and any
 * copy serves: Node-API and libuv 1.x keep their ABI. Null if none is installed.
 */
function nodeHeadersDir() {
  const candidates = [path.join(localNodeDir() ?? '', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  return candidates.find((dir) => path.isAbsolute(dir) && fs.existsSync(path.join(dir, 'node_api.h')) && fs.existsSync(path.join(dir, 'uv.h'))) ?? null;
}

/** The node-gyp entry point: npm's own (set for install scripts), else the one in node_modules. */
function nodeGypBin() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return null;
  }
}

/** Whether the user asked for the whole build log. */
function verbose() {
  return process.env.SOCKCLOSE_BUILD_VERBOSE === '1' || ['info', 'http', 'verbose', 'silly'].includes(process.env.npm_config_loglevel ?? '');
}

/** Runs `node-gyp <args>` in `cwd`; returns the exit status (or 1 if node-gyp is missing). */
function runNodeGyp(args, { cwd, stdio = verbose() ? 'inherit' : ['inherit', 'ignore', 'inherit'] } = {}) {
  const bin = nodeGypBin();
  if (!bin) {
    console.error('sockclose: node-gyp not found');
    return 1;
  }
  const env = { ...process.env };
  const nodedir = env.npm_config_nodedir || localNodeDir();
  if (nodedir) env.npm_config_nodedir = nodedir;
  // node-gyp logs to stderr; make's "CXX(target) …" progress goes to stdout (ignored when quiet),
  // its errors and the compiler's diagnostics to stderr.
  const [command, ...rest] = args;
  const level = verbose() ? [] : ['--loglevel=warn'];
  const result = spawnSync(process.execPath, [bin, command, ...level, ...rest], { cwd, env, stdio });
  return result.status ?? 1;
}

module.exports = { localNodeDir, nodeHeadersDir, runNodeGyp };
