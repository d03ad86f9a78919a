// What every interop test file tears down alike, even when a test failed halfway: any child still
// alive (a test that passed has none left), then the cleanups it added (proxies, servers, temp
// directories), newest first.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach } from 'vitest';

import { killLiveChildren } from './children.js';

export type Cleanup = () => Promise<unknown> | unknown;

/** Registers the file's afterEach; `add` queues cleanups for the running test. */
export function cleanupAfterEach(): { add(cleanup: Cleanup): void; tempDir(prefix: string): string } {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    try {
      // First, so that no client still writes into a temp directory being removed.
      await killLiveChildren();
    } catch (error) {
      errors.push(error);
    }
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error); // the other cleanups still run
      }
    }
    if (errors.length > 0) throw errors[0];
  });
  return {
    add: (cleanup) => void cleanups.push(cleanup),
    /** A fresh directory under os.tmpdir(), removed after the test. */
    tempDir: (prefix) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sockclose-interop-${prefix}-`));
      cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
  };
}
