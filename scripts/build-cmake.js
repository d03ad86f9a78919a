// The second, equivalent build: cmake-js into build-cmake/Release/sockclose.node, warnings as
// errors. Run the suite against it with SOCKCLOSE_BINARY=build-cmake/Release/sockclose.node.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build-cmake', '--CDSOCKCLOSE_WERROR=ON'], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status === 0) console.log(`sockclose: built ${path.join(root, 'build-cmake', 'Release', 'sockclose.node')}`);
process.exit(result.status ?? 1);
