// Guard for `npm publish` run in a checkout (package.json "prepublishOnly"): refuses unless
// prebuilds/ holds exactly the prebuilds sockclose ships, each a stripped Linux ELF for its folder's
// arch, built after the last change to the native sources. The intended release publishes the
// tarball `npm run check:dist -- --out dist` verified instead (npm runs no scripts for a tarball).
// With --warn ("prepack": a plain `npm pack` in a checkout) it only says what such a tarball lacks:
// installed, it compiles the addon (or runs JavaScript-only where no compiler is), which nobody
// packing a checkout expects.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { checkPrebuildFolders, prebuildPath } = require('./prebuilds.js');
const { repoRoot } = require('./stage.js');

/** The prebuild folders every published tarball must carry. */
const SHIPPED = ['linux-x64', 'linux-arm64'];

/** Problems with the checkout's prebuilds/ as something to publish (an empty list when none). */
function prebuildProblems(root = repoRoot) {
  const problems = [];
  const found = checkPrebuildFolders(root);
  for (const { folder, problems: binaryProblems } of found) problems.push(...binaryProblems.map((problem) => `${folder}: ${problem}`));
  const folders = new Set(found.map((entry) => entry.folder));
  for (const folder of SHIPPED) {
    if (!fs.existsSync(path.join(root, prebuildPath(folder.split('-')[1])))) problems.push(`${prebuildPath(folder.split('-')[1])} is missing`);
  }
  for (const { file } of found) {
    if (!SHIPPED.some((folder) => file === path.join(root, prebuildPath(folder.split('-')[1])))) problems.push(`${path.relative(root, file)}: not a prebuild sockclose ships (untagged or unknown name)`);
  }
  for (const folder of folders) if (!SHIPPED.includes(folder)) problems.push(`prebuilds/${folder}: not a platform sockclose ships prebuilds for`);
  const sources = ['binding.gyp', ...fs.readdirSync(path.join(root, 'native')).map((name) => path.join('native', name))];
  const newestSource = Math.max(...sources.map((file) => fs.statSync(path.join(root, file)).mtimeMs));
  for (const { file } of found) {
    if (fs.statSync(file).mtimeMs < newestSource) problems.push(`${path.relative(root, file)} is older than the native sources`);
  }
  return problems;
}

module.exports = { SHIPPED, prebuildProblems };

if (require.main === module) {
  const problems = prebuildProblems();
  if (problems.length > 0 && process.argv.includes('--warn')) {
    console.error(`sockclose: warning: this checkout's prebuilds are not the ones sockclose ships:\n  ${problems.join('\n  ')}`);
    console.error('A tarball packed from it compiles the addon at install (or runs without it where no compiler is).');
    console.error('For the tarball users get: npm run check:dist -- --out dist');
    process.exit(0);
  }
  if (problems.length > 0) {
    console.error(`sockclose: refusing to publish this checkout:\n  ${problems.join('\n  ')}`);
    console.error('Publish the verified tarball instead: npm run check:dist -- --out dist && npm publish dist/sockclose-<version>.tgz');
    process.exit(1);
  }
  console.log(`sockclose: prebuilds ${SHIPPED.join(', ')} present, verified and fresh`);
}
