// Small helpers for the harness tests: servers that always close, reports awaited with a timeout.
import type { EventEmitter } from 'node:events';

import { nextEvent } from '../helpers/wait.js';

/** Closes everything given, even if the test failed halfway. */
export class Cleanup {
  private readonly closers: Array<() => Promise<unknown> | unknown> = [];
  add<T extends { close(): Promise<unknown> | unknown }>(thing: T): T {
    this.closers.push(() => thing.close());
    return thing;
  }
  async run(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close();
  }
}

/** The next 'report' of a fault server or proxy. */
export async function nextReport<R>(emitter: EventEmitter, ms = 10_000): Promise<R> {
  const [report] = await nextEvent<[R]>(emitter, 'report', ms);
  return report;
}
