// The fault proxy's toxics against Node's net client, Node's http client and fetch (undici): the
// error each reports, and (net, http) what really happened on the wire.
import net from 'node:net';
import { performance } from 'node:perf_hooks';

import { afterEach, describe, expect, it } from 'vitest';

import type { CloseObservation, FaultServerOptions, ProxyLinkReport, ToxicSpec } from '../../lib/harness/index.js';
import { fetchOnce, httpRequest } from './http-clients.js';
import { harness } from './load.js';
import { expectNodeReportOfReset } from './node-reports.js';
import { Cleanup, nextReport } from './util.js';
import { within } from '../helpers/wait.js';

const { createFaultProxy, createFaultServer, observeClose } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function through(upstream: FaultServerOptions, toxics: ToxicSpec[]) {
  const server = cleanup.add(await createFaultServer(upstream));
  const proxy = cleanup.add(await createFaultProxy({ upstream: server.port, toxics }));
  return { server, proxy, link: nextReport<ProxyLinkReport>(proxy) };
}

/**
 * A Node net client that sends `send`, then FIN, and reads to the end. `sendToFirstByteMs`: from
 * just before the send to the first byte back; `sendToEndMs`: to the peer's FIN ('end'). Causal
 * both: nothing can come back sooner than the send that prompts it.
 */
async function netClient(port: number, send: Buffer): Promise<CloseObservation & { sendToFirstByteMs: number | null; sendToEndMs: number | null }> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const observed = observeClose(socket);
  let sentAt = 0;
  let firstAt: number | null = null;
  socket.once('connect', () => {
    sentAt = performance.now();
    socket.end(send);
  });
  let endAt: number | null = null;
  socket.once('data', () => (firstAt = performance.now()));
  socket.once('end', () => {
    endAt = performance.now();
    socket.destroy();
  });
  socket.resume();
  const observation = await within(observed, 10_000, 'the client socket to close');
  return { ...observation, sendToFirstByteMs: firstAt === null ? null : firstAt - sentAt, sendToEndMs: endAt === null ? null : endAt - sentAt };
}

const ECHO: FaultServerOptions = { behavior: 'echo' };
const HTTP_OK: FaultServerOptions = { behavior: 'lingering-close', protocol: 'http', responseBytes: 5000 };
const HTTP_STALL: FaultServerOptions = { behavior: 'stall', protocol: 'http' };

describe('fault proxy, Node net client', () => {
  it('latency: the echo comes back no sooner than the latency', async () => {
    const { proxy, link } = await through(ECHO, [{ type: 'latency', attributes: { latency: 100 } }]);
    const o = await netClient(proxy.port, Buffer.alloc(1000));
    expect(o).toMatchObject({ peer: 'fin', bytes: { received: 1000 } });
    expect(o.sendToFirstByteMs).toBeGreaterThanOrEqual(100);
    expect((await link).toxics).toEqual([]);
  });

  it('reset_peer: Node may say end or error; the kernel says RST', async () => {
    const { proxy, link } = await through(ECHO, [{ type: 'reset_peer', attributes: { timeout: 0 } }]);
    const socket = net.connect({ port: proxy.port, host: '127.0.0.1' });
    const observed = observeClose(socket);
    socket.once('connect', () => socket.write('ping'));
    socket.resume();
    const o = await within(observed, 10_000, 'close');
    expect(o).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    expectNodeReportOfReset(o);
    expect((await link).endedBy).toBe('toxic');
  });

  it('limit_data reset: exactly N bytes, then RST (after our FIN: still no FIN from the peer)', async () => {
    const { proxy } = await through(ECHO, [{ type: 'limit_data', attributes: { bytes: 1000, mode: 'reset' } }]);
    const o = await netClient(proxy.port, Buffer.alloc(70_000));
    expect(o).toMatchObject({ peer: 'rst', local: 'fin', initiator: 'local', kernelError: 'ECONNRESET', bytes: { received: 1000 } });
    expectNodeReportOfReset(o);
  });

  it('limit_data close: exactly N bytes, then FIN', async () => {
    const { proxy } = await through(ECHO, [{ type: 'limit_data', attributes: { bytes: 1000 } }]);
    const o = await netClient(proxy.port, Buffer.alloc(70_000));
    expect(o).toMatchObject({ peer: 'fin', kernelError: null, bytes: { received: 1000 } });
  });

  it('timeout: nothing passes, then FIN', async () => {
    // The echo must be back at the proxy (dropped) before the timeout, counted from the upstream
    // connect: 1 s, not 100 ms, which a 300 ms stall of this process at the echo server's accept
    // used up (nothing dropped downstream: the close came first).
    const { proxy, link } = await through(ECHO, [{ type: 'timeout', attributes: { timeout: 1000 } }]);
    const o = await netClient(proxy.port, Buffer.alloc(1000));
    expect(o).toMatchObject({ peer: 'fin', bytes: { received: 0 } });
    expect((await link).bytes).toMatchObject({ droppedDownstream: 1000 });
  });

  it('slow_close: the data, then the FIN no sooner than the delay', async () => {
    const { proxy, link } = await through(ECHO, [{ type: 'slow_close', attributes: { delay: 100 } }]);
    const o = await netClient(proxy.port, Buffer.alloc(1000));
    expect(o).toMatchObject({ peer: 'fin', bytes: { received: 1000 } });
    // The FIN answers ours, which left with the data: it cannot come sooner after the send.
    expect(o.sendToEndMs).toBeGreaterThanOrEqual(100);
    expect((await link).toxics.map((t) => t.action)).toEqual(['delay-fin']);
  });
});

describe('fault proxy, Node http client', () => {
  it('no toxic: a whole response', async () => {
    const { proxy } = await through(HTTP_OK, []);
    expect(await httpRequest(proxy.port)).toMatchObject({ status: 200, body: 5000, complete: true });
  });

  it('latency: a whole response', async () => {
    const { proxy } = await through(HTTP_OK, [{ type: 'latency', attributes: { latency: 100 } }]);
    expect(await httpRequest(proxy.port)).toMatchObject({ status: 200, body: 5000, complete: true });
  });

  it('reset_peer, timed from the request: the request fails with ECONNRESET', async () => {
    const { proxy, link } = await through(HTTP_STALL, [{ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 50 } }]);
    const seen = await httpRequest(proxy.port);
    expect(seen).toMatchObject({ status: null, requestError: 'ECONNRESET' });
    expect(seen.observation).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    expect((await link).toxics).toEqual([expect.objectContaining({ toxic: 'reset_peer_upstream', action: 'reset' })]);
  });

  it('limit_data reset: a cut response, ECONNRESET, exactly N bytes on the wire', async () => {
    const { proxy } = await through(HTTP_OK, [{ type: 'limit_data', attributes: { bytes: 1000, mode: 'reset' } }]);
    const seen = await httpRequest(proxy.port);
    expect(seen).toMatchObject({ status: 200, complete: false, responseError: 'ECONNRESET' });
    expect(seen.observation).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET', bytes: { received: 1000 } });
    expectNodeReportOfReset(seen.observation);
    expect(seen.requestError).toBe(seen.observation.node.error?.code ?? null);
  });

  it('limit_data close: a cut response, reported as aborted (ECONNRESET) though the wire saw a FIN', async () => {
    const { proxy } = await through(HTTP_OK, [{ type: 'limit_data', attributes: { bytes: 1000 } }]);
    const seen = await httpRequest(proxy.port);
    expect(seen).toMatchObject({ status: 200, complete: false, responseError: 'ECONNRESET' });
    expect(seen.observation).toMatchObject({ peer: 'fin', kernelError: null, bytes: { received: 1000 } });
  });

  it('timeout 0: no response; the request times out', async () => {
    const { proxy } = await through(HTTP_OK, [{ type: 'timeout', attributes: { timeout: 0 } }]);
    expect(await httpRequest(proxy.port, { timeoutMs: 200 })).toMatchObject({ status: null, timedOut: true });
  });

  it('slow_close: a whole response (Content-Length: the client does not wait for the FIN)', async () => {
    const { proxy } = await through(HTTP_OK, [{ type: 'slow_close', attributes: { delay: 100 } }]);
    expect(await httpRequest(proxy.port)).toMatchObject({ status: 200, body: 5000, complete: true });
  });
});

describe('fault proxy, fetch (undici)', () => {
  it('latency: a whole response', async () => {
    const { proxy } = await through(HTTP_OK, [{ type: 'latency', attributes: { latency: 100 } }]);
    expect(await fetchOnce(proxy.port)).toMatchObject({ status: 200, body: 5000, error: null });
  });

  it('reset_peer, timed from the request: fetch failed', async () => {
    const { proxy } = await through(HTTP_STALL, [{ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 50 } }]);
    const seen = await fetchOnce(proxy.port);
    expect(seen).toMatchObject({ failedAt: 'fetch', error: { name: 'TypeError', message: 'fetch failed' } });
    // undici names what libuv told it: the reset, or a clean close it took the reset for.
    expect(seen.error!.cause).toMatch(/^(ECONNRESET|UND_ERR_SOCKET)$/);
  });

  it('limit_data reset: the body read is terminated', async () => {
    const { proxy } = await through(HTTP_OK, [{ type: 'limit_data', attributes: { bytes: 1000, mode: 'reset' } }]);
    const seen = await fetchOnce(proxy.port);
    expect(seen).toMatchObject({ status: 200, failedAt: 'body', error: { name: 'TypeError', message: 'terminated' } });
  });

  it('limit_data close: the body read is terminated (a length mismatch)', async () => {
    const { proxy } = await through(HTTP_OK, [{ type: 'limit_data', attributes: { bytes: 1000 } }]);
    const seen = await fetchOnce(proxy.port);
    expect(seen).toMatchObject({ status: 200, failedAt: 'body', error: { message: 'terminated', cause: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' } });
  });

  it('timeout 0: aborted by its signal', async () => {
    const { proxy } = await through(HTTP_OK, [{ type: 'timeout', attributes: { timeout: 0 } }]);
    expect(await fetchOnce(proxy.port, { timeoutMs: 200 })).toMatchObject({ error: { name: 'TimeoutError' } });
  });

  it('slow_close: a whole response', async () => {
    const { proxy } = await through(HTTP_OK, [{ type: 'slow_close', attributes: { delay: 100 } }]);
    expect(await fetchOnce(proxy.port)).toMatchObject({ status: 200, body: 5000, error: null });
  });
});
