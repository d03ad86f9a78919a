// Runs as the consumer project's `preinstall` script, so npm gives it the same PATH and variables
// it gives sockclose's own install script. Records which build tools were reachable there.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const TOOLS = ['cc', 'c++', 'gcc', 'g++', 'clang', 'clang++', 'make', 'gmake', 'cmake', 'ninja', 'ld'];
const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
const reachable = {};
for (const tool of TOOLS) {
  for (const dir of dirs) {
    const file = path.join(dir, tool);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      reachable[tool] = file;
      break;
    } catch {
      // not in this directory
    }
  }
}
fs.writeFileSync(
  path.join(__dirname, 'install-env.json'),
  JSON.stringify({ path: dirs, reachable, CC: process.env.CC ?? null, CXX: process.env.CXX ?? null }, null, 2),
);
