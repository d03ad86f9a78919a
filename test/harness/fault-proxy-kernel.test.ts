// Every toxic of the fault proxy, and its faithful passing-on of FINs and resets, against a
// kernel-level client: the exact bytes and errors, and the ordering (never an upper time bound).
import { afterEach, describe, expect, it } from 'vitest';

import type { FaultConnectionReport, FaultServerOptions, ProxyLinkReport, ToxicSpec } from '../../lib/harness/index.js';
import { refusingPort } from '../helpers/net.js';
import { firstError, kernelClient } from './kernel.js';
import { harness } from './load.js';
import { Cleanup, nextReport } from './util.js';

const { createFaultProxy, createFaultServer } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** An upstream fault server behind a proxy with these toxics. */
async function through(upstream: FaultServerOptions, toxics: ToxicSpec[] = []) {
  const server = cleanup.add(await createFaultServer(upstream));
  const proxy = cleanup.add(await createFaultProxy({ upstream: server.port, toxics }));
  return {
    server,
    proxy,
    serverReport: nextReport<FaultConnectionReport>(server),
    linkReport: nextReport<ProxyLinkReport>(proxy),
  };
}

describe('fault proxy toxics, kernel-level client', () => {
  it('no toxic: bytes and the clean end pass through', async () => {
    const { proxy, linkReport } = await through({ behavior: 'lingering-close', responseBytes: 5000 });
    expect(await kernelClient({ port: proxy.port, send: 4 })).toMatchObject({ received: 5000, end: 'eof' });
    // The upstream's FIN came first (a lingering close: response, FIN, drain): it ended it.
    expect(await linkReport).toMatchObject({ endedBy: 'upstream', bytes: { upstream: 4, downstream: 5000 }, toxics: [] });
  });

  it('latency: the echo of what the client sent comes no sooner than the latency, and so does the EOF', async () => {
    const { proxy } = await through({ behavior: 'echo' }, [{ type: 'latency', attributes: { latency: 150 } }]);
    const seen = await kernelClient({ port: proxy.port, send: 4, shutdown: true });
    expect(seen).toMatchObject({ received: 4, end: 'eof' });
    // Causal: the echo cannot leave the proxy before the client's bytes reached it.
    expect(seen.sentToFirstByteMs).toBeGreaterThanOrEqual(150);
    expect(seen.finToEofMs).toBeGreaterThanOrEqual(150);
  });

  it('reset_peer: the timeout counts from the first byte of the stream; then RST', async () => {
    const { proxy, linkReport, serverReport } = await through({ behavior: 'echo' }, [{ type: 'reset_peer', attributes: { timeout: 150 } }]);
    const seen = await kernelClient({ port: proxy.port, send: 4 });
    expect(seen).toMatchObject({ received: 4, end: 'ECONNRESET' });
    // The stream's first byte is the echo of ours: the reset cannot come sooner after our send.
    expect(seen.sentToEndMs).toBeGreaterThanOrEqual(150);
    const link = await linkReport;
    expect(link.toxics).toEqual([expect.objectContaining({ toxic: 'reset_peer_downstream', action: 'reset' })]);
    expect(link.toxics[0]!.atMs).toBeGreaterThanOrEqual(150);
    // Both connections were reset: the upstream server saw it too.
    expect((await serverReport).observation.peer).toBe('rst');
  });

  it("reset_peer from: 'connect': reset with no data at all", async () => {
    const { proxy, linkReport } = await through({ behavior: 'stall' }, [{ type: 'reset_peer', attributes: { timeout: 100, from: 'connect' } }]);
    const seen = await kernelClient({ port: proxy.port });
    expect(seen).toMatchObject({ connectError: null, received: 0, end: 'ECONNRESET' });
    // Times on the proxy's clock, from the client's connection: never before the timeout.
    expect((await linkReport).toxics).toEqual([expect.objectContaining({ action: 'reset', atMs: expect.any(Number) })]);
    expect((await linkReport).toxics[0]!.atMs).toBeGreaterThanOrEqual(100);
  });

  it('timeout: no data passes; after the timeout both ends get FIN', async () => {
    // The upstream's response must reach the proxy (its 'drop') before the timeout, counted from
    // the upstream connect: 1 s, not 150 ms, which a 300 ms stall of this process between the
    // upstream's write and the proxy's read used up (the close alone, the bytes counted after it).
    const TIMEOUT = 1000;
    const { proxy, linkReport } = await through({ behavior: 'lingering-close', responseBytes: 5000 }, [
      { type: 'timeout', attributes: { timeout: TIMEOUT } },
    ]);
    const seen = await kernelClient({ port: proxy.port });
    expect(seen).toMatchObject({ received: 0, end: 'eof' });
    const link = await linkReport;
    expect(link.bytes).toMatchObject({ downstream: 0, droppedDownstream: 5000 });
    expect(link.toxics.map((t) => t.action)).toEqual(['drop', 'close']);
    expect(link.toxics[1]!.atMs).toBeGreaterThanOrEqual(TIMEOUT);
  });

  it('timeout 0: a half-open connection, nothing passes and nothing ends (the FIN is held too)', async () => {
    const { proxy, linkReport } = await through({ behavior: 'lingering-close', responseBytes: 5000 }, [
      { type: 'timeout', attributes: { timeout: 0 } },
    ]);
    const seen = await kernelClient({ port: proxy.port, readTimeoutMs: 300 });
    expect(seen).toMatchObject({ received: 0, end: 'timeout' });
    await proxy.close();
    expect((await linkReport).endedBy).toBe('proxy-close');
  });

  it('slow_close: the data at once, the FIN held back by the delay', async () => {
    const { proxy, linkReport } = await through({ behavior: 'echo' }, [{ type: 'slow_close', attributes: { delay: 150 } }]);
    const seen = await kernelClient({ port: proxy.port, send: 4, shutdown: true });
    expect(seen).toMatchObject({ received: 4, end: 'eof' });
    // The server's FIN answers ours; the proxy holds it back.
    expect(seen.finToEofMs).toBeGreaterThanOrEqual(150);
    expect((await linkReport).toxics).toEqual([expect.objectContaining({ type: 'slow_close', action: 'delay-fin' })]);
  });

  it('limit_data, mode close: exactly N bytes, then a clean EOF', async () => {
    const { proxy } = await through({ behavior: 'lingering-close', responseBytes: 5000 }, [{ type: 'limit_data', attributes: { bytes: 1000 } }]);
    expect(await kernelClient({ port: proxy.port })).toMatchObject({ received: 1000, end: 'eof' });
  });

  it('limit_data, mode reset: exactly N bytes, then ECONNRESET; the server is reset too', async () => {
    const { proxy, serverReport } = await through({ behavior: 'echo' }, [{ type: 'limit_data', attributes: { bytes: 1000, mode: 'reset' } }]);
    expect(await kernelClient({ port: proxy.port, send: 5000 })).toMatchObject({ received: 1000, end: 'ECONNRESET' });
    expect((await serverReport).observation.peer).toBe('rst');
  });

  it('limit_data upstream: the server gets N bytes of the request, then both ends get FIN at once', async () => {
    const { proxy, serverReport, linkReport } = await through({ behavior: 'echo' }, [
      { type: 'limit_data', stream: 'upstream', attributes: { bytes: 10 } },
    ]);
    // The echo of the 10 bytes comes after the close: dropped, as Toxiproxy closes both at once.
    expect(await kernelClient({ port: proxy.port, send: 100 })).toMatchObject({ received: 0, end: 'eof' });
    expect((await serverReport).observation).toMatchObject({ peer: 'fin', bytes: { received: 10 } });
    expect((await linkReport).bytes).toMatchObject({ upstream: 10, droppedUpstream: 90 });
  });
});

describe('fault proxy passes ends on faithfully', () => {
  it("an upstream RST after N bytes: the client gets the N bytes, then ECONNRESET", async () => {
    const { proxy, linkReport } = await through({ behavior: 'reset-after-bytes', bytes: 3000, awaitRequest: true });
    expect(await kernelClient({ port: proxy.port, send: 1 })).toMatchObject({ received: 3000, end: 'ECONNRESET' });
    const link = await linkReport;
    expect(link).toMatchObject({ endedBy: 'upstream', bytes: { downstream: 3000 } });
    expect(link.upstreamSide).toMatchObject({ peer: 'rst' });
    expect(link.clientSide.local).toBe('rst');
  });

  it('an upstream close with unread input (an RST Node reads as EOF) reaches the client as an RST', async () => {
    const { proxy, linkReport } = await through({ behavior: 'close-with-unread' });
    const seen = await kernelClient({ port: proxy.port, send: 4 });
    expect(seen.end).toBe('ECONNRESET');
    expect((await linkReport).upstreamSide).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
  });

  it('an upstream FIN then RST reaches the client as FIN then RST: EOF, then EPIPE', async () => {
    const { proxy, linkReport } = await through({ behavior: 'fin-then-reset', responseBytes: 5000, awaitRequest: true });
    const seen = await kernelClient({ port: proxy.port, send: 1, sendAfterEof: 10 });
    expect(seen).toMatchObject({ received: 5000, end: 'eof', pollErr: true, sendError: 'EPIPE' });
    expect((await linkReport).clientSide.local).toBe('fin-rst');
  });

  it('a half-close passes both ways: the client FIN reaches the server, whose reply still comes back', async () => {
    const { proxy, serverReport } = await through({ behavior: 'echo' });
    const seen = await kernelClient({ port: proxy.port, send: 50_000, shutdown: true });
    expect(seen).toMatchObject({ received: 50_000, end: 'eof' });
    expect((await serverReport).observation).toMatchObject({ initiator: 'peer', peer: 'fin', local: 'fin' });
  });

  it('an unreachable upstream: the client is reset', async () => {
    // Held refusing: a closed server's port was taken by a test running in parallel once (CI).
    const { port } = cleanup.add(await refusingPort());
    const proxy = cleanup.add(await createFaultProxy({ upstream: port }));
    const link = nextReport<ProxyLinkReport>(proxy);
    const seen = await kernelClient({ port: proxy.port, send: 4 });
    expect(firstError(seen)).toBe('ECONNRESET');
    expect(await link).toMatchObject({ endedBy: 'upstream-connect', upstreamError: 'ECONNREFUSED', upstreamSide: null });
  });
});
