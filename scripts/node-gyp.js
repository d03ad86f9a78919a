// Runs node-gyp against the running Node's own headers when they are installed next to it
// (Debian's /usr/include/node, or an official tarball's include/node): nothing is downloaded.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** The directory holding include/node for the running Node, or null. */
function localNodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
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

/** Runs `node-gyp <args>` in `cwd`; returns the exit status (or 1 if node-gyp is missing). */
function runNodeGyp(args, { cwd, stdio = 'inherit' } = {}) {
  const bin = nodeGypBin();
  if (!bin) {
    console.error('sockclose: node-gyp not found');
    return 1;
  }
  const env = { ...process.env };
  const nodedir = env.npm_config_nodedir || localNodeDir();
  if (nodedir) env.npm_config_nodedir = nodedir;
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, env, stdio });
  return result.status ?? 1;
}

module.exports = { localNodeDir, runNodeGyp };
