// The package under test, loaded the way users load it: Node's own require of the built lib/
// (vitest does not transform it). `npm test` builds lib/ and the addon first.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export const root = path.resolve(import.meta.dirname, '..', '..');

type Sockclose = typeof import('../../lib/index.js');
export const sockclose: Sockclose = require(path.join(root, 'lib', 'index.js'));
export default sockclose;
