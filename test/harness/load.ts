// The harness under test, loaded as users load it: Node's require of the built lib/harness/.
import { createRequire } from 'node:module';
import path from 'node:path';

import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);

type Harness = typeof import('../../lib/harness/index.js');
export const harness: Harness = require(path.join(root, 'lib', 'harness', 'index.js'));
export default harness;
