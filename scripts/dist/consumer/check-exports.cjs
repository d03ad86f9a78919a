// Every subpath the installed package exports (".", "./harness", ...) loads through both require
// and import, and the ES module's named exports are the CommonJS exports, one for one.
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');

async function main() {
  const manifest = require('sockclose/package.json');
  const subpaths = Object.keys(manifest.exports).filter((subpath) => !subpath.endsWith('.json'));
  const results = [];
  for (const subpath of subpaths) {
    const specifier = path.posix.join('sockclose', subpath);
    const cjs = require(specifier);
    const esm = await import(specifier);
    const names = Object.keys(cjs).filter((name) => name !== 'default' && name !== '__esModule');
    assert.ok(names.length > 0, `${specifier}: exports nothing`);
    for (const name of names) assert.equal(esm[name], cjs[name], `${specifier}: named export ${name}`);
    assert.equal(esm.default, cjs, `${specifier}: default export`);
    results.push({ specifier, exports: names.length });
  }
  console.log(JSON.stringify({ subpaths: results }));
}

main().catch((error) => {
  console.error(error.stack);
  process.exit(1);
});
