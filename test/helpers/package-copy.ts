// A copy of the built package in a temporary directory, as a second install in one application
// would be: its own lib/ (its own module instances), the checkout's node_modules, and, if asked,
// a binary file of its own. The caller removes it.
import fs from 'node:fs';
import path from 'node:path';

import { tempDir } from './net.js';
import { root } from './sockclose.js';

/** Copies lib/ and package.json; with `binary`, that file as the copy's build/Release/sockclose.node. */
export function copyOfPackage(prefix: string, binary?: string): string {
  const copy = tempDir(prefix);
  fs.cpSync(path.join(root, 'lib'), path.join(copy, 'lib'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
  if (binary !== undefined) {
    fs.mkdirSync(path.join(copy, 'build', 'Release'), { recursive: true });
    fs.copyFileSync(binary, path.join(copy, 'build', 'Release', 'sockclose.node'));
  }
  return copy;
}
