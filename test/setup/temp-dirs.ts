// Fails a test file that leaves a directory of tempDir() behind: a leak there goes unseen (the
// tests pass), and runs pile empty directories up in the temp dir. Runs after the file's own
// afterAll hooks (vitest runs after-hooks last-registered first, and setup files register first).
import { afterAll } from 'vitest';

import { tempDirsLeft } from '../helpers/net.js';

afterAll(() => {
  const left = tempDirsLeft();
  if (left.length > 0) throw new Error(`this test file left ${left.length} temp director${left.length === 1 ? 'y' : 'ies'} behind: ${left.join(', ')}`);
});
