// Small helpers for the harness tests: servers that always close, reports awaited with a timeout.
import type { EventEmitter } from 'node:events';

import net from 'node:net';

import type { CloseObservation } from '../../lib/harness/index.js';
import { nextEvent, within } from '../helpers/wait.js';
import { harness } from './load.js';

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

/**
 * A client of `port` that half-closes as soon as it is connected and keeps reading; `closed` is
 * its observeClose() (10 s bound).
 */
export async function halfClosedClient(port: number): Promise<{ client: net.Socket; closed: Promise<CloseObservation> }> {
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const closed = within(harness.observeClose(client), 10_000, 'the client socket to close');
  await nextEvent(client, 'connect', 5000);
  client.end();
  client.resume();
  return { client, closed };
}

/** The next 'report' of a fault server or proxy. */
export async function nextReport<R>(emitter: EventEmitter, ms = 10_000): Promise<R> {
  const [report] = await nextEvent<[R]>(emitter, 'report', ms);
  return report;
}
