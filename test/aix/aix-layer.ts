// Builds the addon with native/sys_aix.cc in place of sys_linux.cc, for this Linux machine, into a
// temporary directory (never build/): the AIX layer is POSIX-only, so it compiles here, and under the
// AIX error-state emulation its logic can run against a real kernel. The official builds never
// compile it on Linux (binding.gyp / CMakeLists.txt pick sys_linux.cc).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { root } from '../helpers/sockclose.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** Node-API headers: the node-api-headers package (cmake-js's), else Node's own install. */
// Node's headers (Node-API, and libuv for the lingerer): the running Node's, else the system's.
function napiInclude(): string {
  const { nodeHeadersDir } = require(path.join(root, 'scripts', 'node-gyp.js')) as { nodeHeadersDir(): string | null };
  const dir = nodeHeadersDir();
  if (!dir) throw new Error("no Node headers (node_api.h, uv.h) next to this Node or in /usr/include/node");
  return dir;
}

const built = new Set<string>();

/** Removes every AIX-layer build of this process: call it in afterAll of each file that builds one. */
export function removeAixLayers(): void {
  for (const dir of built) fs.rmSync(dir, { recursive: true, force: true });
  built.clear();
}

/** Compiles the AIX-layer variant (the same flags as binding.gyp, with -Werror) and returns its path. */
export async function buildAixLayer(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-aix-layer-'));
  built.add(dir);
  const output = path.join(dir, 'sockclose.node');
  const addonApi = path.dirname(require.resolve('node-addon-api/package.json', { paths: [root] }));
  const sources = ['addon.cc', 'handed_out.cc', 'lingerer.cc', 'lingerer_api.cc', 'poller_uv.cc', 'sys_posix.cc', 'sys_aix.cc'].map((file) => path.join(root, 'native', file));
  await run(
    'g++',
    [
      '-std=c++17',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-O2',
      '-fPIC',
      '-shared',
      '-fvisibility=hidden',
      '-fno-exceptions',
      '-DNAPI_VERSION=8',
      '-DNAPI_DISABLE_CPP_EXCEPTIONS',
      '-DNODE_ADDON_API_DISABLE_DEPRECATED',
      '-I',
      addonApi,
      '-I',
      napiInclude(),
      ...sources,
      '-o',
      output,
    ],
    { timeout: 120_000 },
  );
  return output;
}
