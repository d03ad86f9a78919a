// The emulated linger (setLinger(socket, n > 0)) waits up to n seconds for the peer's
// acknowledgements. It timed that on the wall clock (Date.now()), which a clock step moves (an NTP
// step, a resumed VM, a date set by hand): stepped back an hour, the close waited an hour more;
// stepped forward, it ended at once. The kernel's linger counts in jiffies, which no step moves.
// Here the wall clock is stepped (Date.now() replaced, then restored) while a linger waits on a
// peer that never reads, so its bytes are never acknowledged and only the n seconds end the wait.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, tcpPair } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent } from '../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
const realNow = Date.now;
afterEach(async () => {
  Date.now = realNow;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A client whose peer never reads, with 1 s of emulated linger and bytes it will never see acknowledged. */
async function lingeringClient(): Promise<net.Socket> {
  const { client, server, listener } = await tcpPair({ server: { pauseOnConnect: true } });
  cleanups.push(() => closeServer(listener));
  cleanups.push(() => void server.destroy());
  cleanups.push(() => void client.destroy());
  client.on('error', () => {});
  sockclose.setLinger(client, 1);
  client.write(Buffer.alloc(8 * 1024 * 1024));
  return client;
}

/** Milliseconds from destroy() to 'close', on the monotonic clock, the wall clock stepped by `stepMs` meanwhile. */
async function lingerMs(client: net.Socket, stepMs: number): Promise<number> {
  const closed = nextEvent(client, 'close', 10_000);
  const start = performance.now();
  client.destroy();
  Date.now = () => realNow() + stepMs;
  await closed;
  return performance.now() - start;
}

describe('the emulated linger\'s n seconds', () => {
  it('are not lengthened by the wall clock stepping back', async () => {
    const client = await lingeringClient();
    // Before: an hour and a second (nextEvent's 10 s timeout failed it).
    const elapsed = await lingerMs(client, -3_600_000);
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(5000);
  });

  it('are not shortened by the wall clock stepping forward', async () => {
    const client = await lingeringClient();
    // Before: a few milliseconds.
    const elapsed = await lingerMs(client, 3_600_000);
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(5000);
  });
});
