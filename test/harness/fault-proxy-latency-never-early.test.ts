// A latency toxic delays each chunk by at least its latency, never less: the proxy released what
// was due within the next half millisecond along with what was due, so a 150 ms latency once
// passed a client's bytes on after 149.984 ms (CI, fault-proxy-kernel.test.ts). Many short round
// trips make the early release likely where it exists: each one is timed by the client, from
// before its write to its 'data' event, on the monotonic clock.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { nextEvent } from '../helpers/wait.js';
import { harness } from './load.js';
import { Cleanup } from './util.js';

const { createFaultProxy, createFaultServer } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const LATENCY_MS = 3;
const ROUND_TRIPS = 200;

describe('fault proxy latency toxic', () => {
  it(`never passes a chunk on before its latency (${ROUND_TRIPS} round trips at ${LATENCY_MS} ms)`, async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'echo' }));
    // Downstream only: each echo is delayed once, after the bytes reached the server.
    const proxy = cleanup.add(await createFaultProxy({ upstream: server.port, toxics: [{ type: 'latency', attributes: { latency: LATENCY_MS } }] }));
    const client = net.connect(proxy.port, '127.0.0.1');
    cleanup.add({ close: () => void client.destroy() });
    await nextEvent(client, 'connect');
    client.setNoDelay(true);

    const early: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const echoed = nextEvent<[Buffer]>(client, 'data');
      const sentAt = process.hrtime.bigint();
      client.write('x');
      await echoed;
      const ms = Number(process.hrtime.bigint() - sentAt) / 1e6;
      if (ms < LATENCY_MS) early.push(ms);
    }
    expect(early).toEqual([]);
  });
});
