// `npm run prebuildify`: prebuildify --napi --strip --tag-libc (so a glibc build is never offered
// to musl) for this machine's platform and arch, against
// the local Node headers (nothing downloaded). Output: prebuilds/<platform>-<arch>/.
// Extra arguments are passed on (the arm64 cross build adds --arch arm64 and its strip binary).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { localNodeDir } = require('./node-gyp.js');

const root = path.resolve(__dirname, '..');
const env = { ...process.env };
const nodedir = env.npm_config_nodedir || localNodeDir();
if (nodedir) env.npm_config_nodedir = nodedir;
env.PREBUILD_NODE_GYP = env.PREBUILD_NODE_GYP || require.resolve('node-gyp/bin/node-gyp.js');

const bin = require.resolve('prebuildify/bin.js');
const result = spawnSync(process.execPath, [bin, '--napi', '--strip', '--tag-libc', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
