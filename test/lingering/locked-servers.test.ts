// A server that takes no new property (Object.preventExtensions() or seal() once it listens; Node
// itself adds properties at listen(), so earlier breaks Node first). Lingering close keeps a
// server's entry on the server for speed, and in a WeakMap for such a server: enabling it must
// neither throw nor lose the server, and undoing and enabling again must work as on any other.
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, within } from '../helpers/wait.js';
import { answeringServer } from './answering-server.js';
import { cleanupsAfterEach } from './lifecycle.js';

const { enableLingeringClose, lingeringCloseStats } = sockclose;
const cleanups = cleanupsAfterEach();

const IDLE_MS = 200;

/** One silent client (it never sends its FIN); resolves once the server's FIN arrived. */
async function oneConnection(server: net.Server): Promise<void> {
  const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
  cleanups.add(() => void client.destroy());
  client.on('error', () => {});
  client.resume();
  await nextEvent(client, 'end', 5000);
}

/** Closes this thread's lingering close has counted: lingering now, or ended (a close is counted from its start). */
function closesCounted(): number {
  const stats = lingeringCloseStats();
  return stats.lingering + Object.values(stats.reasons).reduce((sum, count) => sum + count, 0);
}

describe('a server that takes no new property', () => {
  for (const lock of ['preventExtensions', 'seal'] as const) {
    it(`Object.${lock}() after listen(): enabled, undone and enabled again, each close counted where it belongs`, async () => {
      const server = await answeringServer((close) => cleanups.add(close));
      Object[lock](server);

      const first = enableLingeringClose(server, { idleTimeout: IDLE_MS });
      cleanups.add(first);
      await oneConnection(server);
      await within(first.drained(), 5000, 'the first enable to drain');
      expect(first.stats().reasons['idle-timeout'], 'the close lingered until the idle timeout').toBe(1);

      first();
      const before = closesCounted();
      await oneConnection(server);
      expect(closesCounted(), 'after the undo, the close is plain Node again: not counted at all').toBe(before);
      expect(first.stats().reasons['idle-timeout']).toBe(1);

      const second = enableLingeringClose(server, { idleTimeout: IDLE_MS });
      cleanups.add(second);
      await oneConnection(server);
      await within(second.drained(), 5000, 'the second enable to drain');
      expect(second.stats().reasons['idle-timeout'], 'the server lingers again').toBe(1);
    });
  }

  it('an ordinary server carries its entry as a property, which an undo clears without deleting it', async () => {
    const server = await answeringServer((close) => cleanups.add(close));
    const control = enableLingeringClose(server, { idleTimeout: IDLE_MS });
    cleanups.add(control);
    const symbol = Object.getOwnPropertySymbols(server).find((key) => String(key) === 'Symbol(sockclose.lingeringServer)');
    expect(symbol, 'the entry is on the server').toBeDefined();
    control();
    // Cleared to undefined, not deleted: a delete would turn the server into a dictionary object.
    expect(Object.getOwnPropertyDescriptor(server, symbol!)).toMatchObject({ value: undefined, writable: true });
    const before = closesCounted();
    await oneConnection(server);
    expect(closesCounted(), 'after the undo, not counted').toBe(before);
  });
});
