// The functions a Node-API addon pinned to NAPI_VERSION `version` may import: every declaration
// marked NAPI_EXTERN in the local Node's js_native_api.h and node_api.h, as the preprocessor leaves
// them with that NAPI_VERSION (the headers guard each function by the version that added it;
// experimental ones need NAPI_EXPERIMENTAL, which is left undefined). Derived from the very
// headers the addon compiles against, so the set cannot drift from them.
'use strict';
const { execFileSync } = require('node:child_process');

const MARK = 'SOCKCLOSE_NAPI_EXTERN_MARK';
const ATTRIBUTE = /__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)/g;

/**
 * @param {string} nodeInclude the directory holding node_api.h
 * @param {number} version NAPI_VERSION
 * @param {string} cxx a host C compiler driver (only its preprocessor runs)
 * @returns {Set<string>} C names (no Mach-O underscore)
 */
function nodeApiFunctions(nodeInclude, version, cxx = 'cc') {
  const text = execFileSync(
    cxx,
    ['-E', '-P', '-x', 'c', `-DNAPI_VERSION=${version}`, `-DNAPI_EXTERN=${MARK}`, `-I${nodeInclude}`, '-'],
    { input: '#include <node_api.h>\n', encoding: 'utf8', maxBuffer: 16 << 20 },
  );
  const names = new Set();
  // After the mark: a return type, then the first identifier followed by '(' is the function.
  // Attributes (NAPI_NO_RETURN's __attribute__((__noreturn__))) are skipped first.
  for (const declaration of text.split(MARK).slice(1)) {
    const match = /([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(declaration.replace(ATTRIBUTE, ' '));
    if (match) names.add(match[1]);
  }
  if (!['napi_create_function', 'napi_module_register', 'napi_fatal_error'].every((name) => names.has(name))) {
    throw new Error(`could not read the Node-API declarations from ${nodeInclude}/node_api.h`);
  }
  return names;
}

module.exports = { nodeApiFunctions };
