// What a linked macOS bundle may import. node-gyp links addons with `-undefined dynamic_lookup`,
// which defers every symbol no linked library exports to load time: a typo, a V8 internal or a
// Node-API function newer than the pinned version links fine and fails only on a user's machine.
// So every import must come from libSystem (zig's libSystem.tbd: Apple's own export list), from
// libc++ (our stub, libcxx-stub.tbd), or, looked up in Node at load time, be a Node-API function
// of NAPI_VERSION 8 or libuv's.
'use strict';
const fs = require('node:fs');

const { machoImports } = require('./macho-imports.js');

const LIBSYSTEM = '/usr/lib/libSystem.B.dylib';
const LIBCXX = '/usr/lib/libc++.1.dylib';
// Node exports libuv's API (its headers install uv.h; addons reach the loop through
// napi_get_uv_event_loop: the native lingerer uses uv_poll_*, uv_timer_*, uv_close). libuv keeps
// its ABI within major version 1, which every Node sockclose supports ships. Allowed explicitly,
// as a prefix: Node-API does not cover these.
const ALLOWED_PREFIXES = ['uv_'];

/**
 * @param {string} file a linked bundle
 * @param {Set<string>} allowedNodeApi C names of the Node-API functions allowed
 * @param {number} napiVersion for the messages
 * @returns {{problems: string[], image, counts}} problems is empty when every import is allowed
 */
function auditBundle(file, allowedNodeApi, napiVersion) {
  const image = machoImports(fs.readFileSync(file));
  const problems = [];
  if (image.filetype !== 'bundle') problems.push(`is a ${image.filetype}, not a bundle`);
  if (!image.twoLevel) problems.push('flat namespace: imports are not tied to libraries');
  for (const dylib of image.dylibs) {
    if (dylib !== LIBSYSTEM && dylib !== LIBCXX) problems.push(`loads ${dylib}`);
  }
  const counts = { libSystem: 0, 'libc++': 0, 'Node-API': 0, libuv: 0 };
  for (const { name, from } of image.imports) {
    const cName = name.startsWith('_') ? name.slice(1) : name;
    if (from === LIBSYSTEM) counts.libSystem++;
    else if (from === LIBCXX) counts['libc++']++;
    else if (from === 'dynamic_lookup' && allowedNodeApi.has(cName)) counts['Node-API']++;
    else if (from === 'dynamic_lookup' && ALLOWED_PREFIXES.some((prefix) => cName.startsWith(prefix))) counts.libuv++;
    else if (from === 'dynamic_lookup') {
      // A libc++ symbol missing from the stub is the one case that may be fine: say how to tell.
      const cxx = /^__ZN?K?St3__1|^___cxa_|^__Z[nd]/.test(name)
        ? ' (if Apple\'s libc++ exports it, list it in scripts/platforms/libcxx-stub.tbd)'
        : '';
      problems.push(`imports ${name} from the loading process: not Node-API ${napiVersion}, libSystem or libc++${cxx}`);
    } else {
      problems.push(`imports ${name} from ${from}`);
    }
  }
  return { problems, image, counts };
}

module.exports = { auditBundle };
