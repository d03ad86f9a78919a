// Every fault-server behaviour (protocol 'http') against Node's http client and fetch (undici):
// the exact error each reports, and, for the http client, what really happened on the wire.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { FaultConnectionReport, FaultServerOptions } from '../../lib/harness/index.js';
import { fetchOnce, httpRequest } from './http-clients.js';
import { harness } from './load.js';
import { expectHiddenResetConsistent, expectNodeReportOfReset } from './node-reports.js';
import { Cleanup, nextReport } from './util.js';
import { within } from '../helpers/wait.js';

const { createFaultServer } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function serve(options: Omit<FaultServerOptions, 'protocol'>) {
  const server = cleanup.add(await createFaultServer({ ...options, protocol: 'http' }));
  return { server, report: nextReport<FaultConnectionReport>(server) };
}

const UPLOAD = 2 << 20; // a request body the server will not read: 2 MiB

describe('fault server, Node http client', () => {
  it('reset-on-accept: the request fails with ECONNRESET', async () => {
    const { server, report } = await serve({ behavior: 'reset-on-accept' });
    const seen = await httpRequest(server.port);
    expect(seen).toMatchObject({ status: null, requestError: 'ECONNRESET' });
    expect(seen.observation).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    expect((await report).observation.local).toBe('rst');
  });

  it('reset-after-bytes: the head and part of the body arrive, then the response fails with ECONNRESET', async () => {
    const { server, report } = await serve({ behavior: 'reset-after-bytes', bytes: 1000, responseBytes: 5000 });
    const seen = await httpRequest(server.port);
    expect(seen).toMatchObject({ status: 200, complete: false, responseError: 'ECONNRESET' });
    expect(seen.body).toBeGreaterThan(0);
    expect(seen.body).toBeLessThan(1000);
    // kernelKnows: http's client may destroy the socket before the observer's 'end' listener
    // runs; the kernel was asked at destroy() all the same.
    expect(seen.observation).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET', kernelKnows: true, bytes: { received: 1000 } });
    // The request errs too exactly when its socket did: libuv 1.52+ reports the RST as a read
    // error, older libuv mostly as an EOF (then only the response is aborted).
    expectNodeReportOfReset(seen.observation);
    expect(seen.requestError).toBe(seen.observation.node.error?.code ?? null);
    expect((await report).observation).toMatchObject({ local: 'rst', bytes: { sent: 1000 } });
  });

  it('close-with-unread, POST: the unread upload turns the close into an RST that cuts the response', async () => {
    const { server, report } = await serve({ behavior: 'close-with-unread' });
    const seen = await httpRequest(server.port, { body: UPLOAD });
    expect(seen.complete).toBe(false);
    expect(seen.responseError ?? seen.requestError).toMatch(/^(ECONNRESET|EPIPE)$/);
    expect(seen.observation).toMatchObject({ peer: 'rst' });
    const r = await report;
    expect(r.observation.local).toBe('rst');
    expect(r.observation.bytes.unreadAtClose).toBeGreaterThan(0);
  });

  it('close-with-unread, GET: nothing is left unread, so the close is a FIN and the response whole', async () => {
    const { server, report } = await serve({ behavior: 'close-with-unread' });
    const seen = await httpRequest(server.port);
    expect(seen).toMatchObject({ status: 200, body: 600_000, complete: true, requestError: null, responseError: null });
    const r = await report;
    expect(r.steps.find((s) => s.step === 'unread-input')!.detail).toMatchObject({ unreadBytes: 0 });
    expect(r.observation.local).toBe('fin');
  });

  it('fin-then-reset: a whole response for http; on the wire a FIN then an RST (EPIPE)', async () => {
    const { server, report } = await serve({ behavior: 'fin-then-reset', responseBytes: 5000 });
    const seen = await httpRequest(server.port);
    expect(seen).toMatchObject({ status: 200, body: 5000, complete: true, requestError: null });
    expect(seen.observation).toMatchObject({ peer: 'fin-rst', kernelError: 'EPIPE', kernelKnows: true, node: { error: null } });
    // Node never reports this reset; whether it read the EOF before http closed the socket (after
    // the complete response) depends on libuv's read loop: 'end' (hidden) or nothing at all.
    expectHiddenResetConsistent(seen.observation);
    expect((await report).observation.local).toBe('fin-rst');
  });

  it('half-close: a whole response; the server stays open until the client closes', async () => {
    const { server, report } = await serve({ behavior: 'half-close', responseBytes: 5000 });
    const seen = await httpRequest(server.port);
    expect(seen).toMatchObject({ status: 200, body: 5000, complete: true });
    expect(seen.observation).toMatchObject({ peer: 'fin', kernelError: null });
    const r = await report;
    expect(r.steps.map((s) => s.step)).toEqual(['request-head', 'wrote', 'fin', 'peer-eof']);
    expect(r.observation).toMatchObject({ initiator: 'local', peer: 'fin' });
  });

  it('slow-close: the client closes after the response; the server FIN follows, not before the delay', async () => {
    const { server, report } = await serve({ behavior: 'slow-close', responseBytes: 100, delayMs: 150 });
    const seen = await httpRequest(server.port);
    expect(seen).toMatchObject({ status: 200, body: 100, complete: true });
    const r = await report;
    const eof = r.steps.find((s) => s.step === 'peer-eof')!;
    const fin = r.steps.find((s) => s.step === 'fin')!;
    expect(fin.atMs - eof.atMs).toBeGreaterThanOrEqual(150);
    expect(r.observation).toMatchObject({ initiator: 'peer', peer: 'fin', local: 'fin' });
  });

  it('stall: no response; the request times out and the client closes', async () => {
    const { server } = await serve({ behavior: 'stall' });
    const seen = await httpRequest(server.port, { timeoutMs: 200 });
    expect(seen).toMatchObject({ status: null, timedOut: true });
    expect(seen.observation).toMatchObject({ initiator: 'local', peer: 'none' });
  });

  it("close: Node's famous 'socket hang up' (ECONNRESET), though the wire saw a clean FIN", async () => {
    const { server, report } = await serve({ behavior: 'close' });
    const seen = await httpRequest(server.port);
    expect(seen).toMatchObject({ status: null, requestError: 'ECONNRESET', requestErrorMessage: 'socket hang up' });
    expect(seen.observation).toMatchObject({ peer: 'fin', kernelError: null });
    expect((await report).observation.local).toBe('fin');
  });

  it('lingering-close (the control): the whole 600,000-byte response, despite the unread upload', async () => {
    const { server, report } = await serve({ behavior: 'lingering-close' });
    const seen = await httpRequest(server.port, { body: UPLOAD });
    expect(seen).toMatchObject({ status: 200, body: 600_000, complete: true, requestError: null, responseError: null });
    expect(seen.observation).toMatchObject({ peer: 'fin', kernelError: null });
    const r = await report;
    expect(r.observation.local).toBe('fin');
    expect(r.steps.find((s) => s.step === 'lingered')!.detail).toMatchObject({ reason: 'eof', closedWith: 'close' });
  });
});

describe('fault server, fetch (undici)', () => {
  it('reset-on-accept: fetch failed, cause ECONNRESET', async () => {
    const { server } = await serve({ behavior: 'reset-on-accept' });
    expect(await fetchOnce(server.port)).toMatchObject({ failedAt: 'fetch', error: { name: 'TypeError', message: 'fetch failed', cause: 'ECONNRESET' } });
  });

  it('reset-after-bytes: the headers arrive, the body read is terminated', async () => {
    const { server, report } = await serve({ behavior: 'reset-after-bytes', bytes: 1000, responseBytes: 5000 });
    const seen = await fetchOnce(server.port);
    expect(seen).toMatchObject({ status: 200, failedAt: 'body', error: { name: 'TypeError', message: 'terminated' } });
    // undici names the cause from what libuv told it: often a clean end (a length mismatch).
    expect(seen.error!.cause).toMatch(/^(UND_ERR_RES_CONTENT_LENGTH_MISMATCH|ECONNRESET|UND_ERR_SOCKET)$/);
    expect((await report).observation.local).toBe('rst');
  });

  it('close-with-unread, POST: the response is cut (terminated)', async () => {
    const { server, report } = await serve({ behavior: 'close-with-unread' });
    const seen = await fetchOnce(server.port, { body: UPLOAD });
    expect(seen.error).toMatchObject({ name: 'TypeError' });
    expect(seen.error!.message).toMatch(/^(terminated|fetch failed)$/);
    expect((await report).observation.local).toBe('rst');
  });

  it('fin-then-reset: a whole response', async () => {
    const { server } = await serve({ behavior: 'fin-then-reset', responseBytes: 5000 });
    expect(await fetchOnce(server.port)).toMatchObject({ status: 200, body: 5000, error: null });
  });

  it('half-close: a whole response', async () => {
    const { server } = await serve({ behavior: 'half-close', responseBytes: 5000 });
    expect(await fetchOnce(server.port)).toMatchObject({ status: 200, body: 5000, error: null });
  });

  it('slow-close: a whole response (Content-Length: fetch does not wait for the FIN)', async () => {
    const { server } = await serve({ behavior: 'slow-close', responseBytes: 100, delayMs: 150 });
    expect(await fetchOnce(server.port)).toMatchObject({ status: 200, body: 100, error: null });
  });

  it('stall: aborted by its signal (TimeoutError)', async () => {
    const { server } = await serve({ behavior: 'stall' });
    expect(await fetchOnce(server.port, { timeoutMs: 200 })).toMatchObject({ failedAt: 'fetch', error: { name: 'TimeoutError' } });
  });

  it('close: fetch failed, cause UND_ERR_SOCKET ("other side closed")', async () => {
    const { server } = await serve({ behavior: 'close' });
    expect(await fetchOnce(server.port)).toMatchObject({ failedAt: 'fetch', error: { message: 'fetch failed', cause: 'UND_ERR_SOCKET' } });
  });

  it('lingering-close (the control): the whole response, despite the unread upload', async () => {
    const { server } = await serve({ behavior: 'lingering-close' });
    expect(await fetchOnce(server.port, { body: UPLOAD })).toMatchObject({ status: 200, body: 600_000, error: null });
  });
});

describe('fault server url', () => {
  it.each([
    ['127.0.0.1', 'http://127.0.0.1:'],
    ['0.0.0.0', 'http://127.0.0.1:'],
    ['::', 'http://[::1]:'],
    ['::1', 'http://[::1]:'],
  ])('listening on %s: %sPORT/, which a client reaches', async (host, prefix) => {
    const server = cleanup.add(await createFaultServer({ protocol: 'http', behavior: 'lingering-close', listen: { host, port: 0 } }));
    expect(server.url).toBe(`${prefix}${server.port}/`);
    const response = await fetch(server.url, { signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  });
});

describe('fault server (http), the client leaves during the request head', () => {
  it.each(['reset-after-bytes', 'close-with-unread', 'fin-then-reset'] as const)(
    '%s: a reset before the head is complete ends the behaviour there (no steps for waits that never took place)',
    async (behavior) => {
      const { server, report } = await serve({ behavior });
      const client = net.connect(server.port, '127.0.0.1', () => client.write('GET / HT')); // half a request line
      client.on('error', () => {});
      // The server has the partial head once its socket has read it; then the client resets.
      await within(
        new Promise<void>((resolve) => server.once('connection', (_id: number, socket: net.Socket) => socket.once('data', () => resolve()))),
        5000,
        'the server to read the partial head',
      );
      client.resetAndDestroy();
      const r = await report;
      // The wait, closed under it by Node (which read the reset), then the departure.
      expect(r.steps.map((s) => s.step)).toEqual(['request-head', 'peer-left']);
      expect(r.steps[0]!.detail).toMatchObject({ result: 'closed' });
      expect(r.steps[1]!.detail).toMatchObject({ end: 'rst' });
    },
  );
});
