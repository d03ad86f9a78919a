// What every lingering test file sets up alike: one kernel-level peer for the whole file, and the
// cleanups each test leaves (servers to close, lingering to disable), run after it, newest first.
import { afterAll, afterEach, beforeAll } from 'vitest';

import { KernelPeer } from './kernel-peer.js';

export type Cleanup = () => Promise<void> | void;

/** The file's kernel peer: started before its first test, ended after its last. */
export function kernelPeerForFile(): Pick<KernelPeer, 'run' | 'hold'> {
  let peer: KernelPeer | undefined;
  beforeAll(() => {
    peer = new KernelPeer();
  });
  afterAll(async () => {
    await peer?.close();
  });
  const started = (): KernelPeer => {
    if (!peer) throw new Error('the kernel peer starts in beforeAll: use it inside a test');
    return peer;
  };
  return { run: (...args) => started().run(...args), hold: (...args) => started().hold(...args) };
}

/** Cleanups run after each test of the file, the last added first. */
export function cleanupsAfterEach(): { add(...cleanups: Cleanup[]): void; runNow(): Promise<void> } {
  const cleanups: Cleanup[] = [];
  const runNow = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  afterEach(runNow);
  return { add: (...added) => void cleanups.push(...added), runNow };
}
