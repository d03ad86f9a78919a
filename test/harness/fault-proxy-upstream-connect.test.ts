// The fault proxy while its upstream connect is still under way (an upstream that drops SYNs: a
// listener whose accept queue is full): a client that resets meanwhile is its own ending, noticed
// at once, not held (and counted) until connectTimeoutMs runs out.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { ProxyLinkReport } from '../../lib/harness/index.js';
import { nextEvent, within } from '../helpers/wait.js';
import { harness } from './load.js';
import { Cleanup, nextReport, unansweringPort as unansweringPortOf } from './util.js';

const { createFaultProxy, observeClose, probe } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A port whose listener never answers a SYN (util.ts), checked: a direct connect times out. */
async function unansweringPort(): Promise<number> {
  const port = await unansweringPortOf(cleanup);
  // The port really drops SYNs: a direct connect times out.
  expect(await probe('127.0.0.1', port, { connectTimeoutMs: 200, timeoutMs: 200 })).toMatchObject({ outcome: 'connect-error', connectError: 'ETIMEDOUT' });
  return port;
}

describe('fault proxy: a client that leaves while the upstream connect is under way', () => {
  // Far longer than any wait below: what the test sees comes from the client, not from this bound.
  const connectTimeoutMs = 60_000;

  it('a client reset is noticed at once: reported (endedBy client), no longer counted, the upstream connect abandoned', async () => {
    const upstream = await unansweringPort();
    const proxy = cleanup.add(await createFaultProxy({ upstream, connectTimeoutMs }));
    const accepted = nextEvent<[number, net.Socket]>(proxy, 'connection', 5000);
    const client = net.connect(proxy.port, '127.0.0.1');
    cleanup.add({ close: () => client.destroy() });
    const clientClosed = within(observeClose(client), 5000, 'the client socket to close');
    await nextEvent(client, 'connect', 5000);
    await accepted;
    expect(proxy.activeConnections).toBe(1);
    const report = nextReport<ProxyLinkReport>(proxy, 3000);
    client.write('x');
    client.resetAndDestroy();
    expect(await clientClosed).toMatchObject({ local: 'rst' });
    expect(await report).toMatchObject({
      endedBy: 'client',
      upstreamError: null,
      upstreamSide: null,
      clientSide: { peer: 'rst', kernelError: 'ECONNRESET' },
    });
    expect(proxy.activeConnections).toBe(0);
  });

  it('a client FIN is no departure (a half-closed client may still read): the connect goes on, bounded by connectTimeoutMs', async () => {
    const upstream = await unansweringPort();
    const proxy = cleanup.add(await createFaultProxy({ upstream, connectTimeoutMs: 300 }));
    const report = nextReport<ProxyLinkReport>(proxy, 5000);
    const r = await probe('127.0.0.1', proxy.port, { send: 'x', shutdown: true, timeoutMs: 5000 });
    // Held until the bound, then reset as for an unreachable upstream (not ended as the client's).
    expect(r).toMatchObject({ outcome: 'rst', received: 0 });
    // Not before the bound (counted from the proxy's accept, a moment within the client's connect:
    // room for that and for a timer on a stale loop time).
    expect(r.durationMs - r.connectMs!).toBeGreaterThanOrEqual(250);
    expect(await report).toMatchObject({ endedBy: 'upstream-connect', upstreamError: 'ETIMEDOUT', upstreamSide: null });
  });
});
