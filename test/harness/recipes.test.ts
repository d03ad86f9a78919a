// The README's recipes (docs/harness.md), run as written: each one must catch the bug it is for.
import http from 'node:http';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { CloseObservation } from '../../lib/harness/index.js';
import { harness } from './load.js';
import { Cleanup } from './util.js';
import { listen, openSockets, socketsOpenedSince, portOf } from '../helpers/net.js';
import { until, within } from '../helpers/wait.js';

const { createFaultProxy, createFaultServer, observeClose, probe } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A toy client under test: one request, retried while the kernel says the connection was reset. */
async function getWithRetry(port: number, attempts: number): Promise<{ bytes: number; tries: number }> {
  for (let tries = 1; ; tries++) {
    const socket = net.connect(port, '127.0.0.1');
    const observed = observeClose(socket);
    socket.once('connect', () => socket.write('GET'));
    socket.resume();
    const o: CloseObservation = await within(observed, 10_000, 'the attempt');
    // Trusting Node's 'end' would accept a truncated answer; the observer does not.
    if (o.peer === 'fin' && o.kernelError === null) return { bytes: o.bytes.received, tries };
    if (tries === attempts) throw new Error(`gave up after ${tries} resets`);
  }
}

/** A proxy as people write it first: pipe both ways, nothing else. */
async function naiveProxy(upstreamPort: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return listen(server);
}

describe('recipes', () => {
  it('my client must retry on ECONNRESET: fail once exactly, then succeed', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'reset-after-bytes', bytes: 100, awaitRequest: true }));
    // Settings are taken at accept: switching in 'connection' makes only the first one fail.
    server.once('connection', () => server.configure({ behavior: 'lingering-close', responseBytes: 1000 }));
    const second = within(
      new Promise<void>((resolve) => server.on('report', (r: { id: number }) => r.id === 2 && resolve())),
      10_000,
      "the second connection's report",
    );
    expect(await getWithRetry(server.port, 3)).toEqual({ bytes: 1000, tries: 2 });
    await second;
    expect(server.reports.map((r) => r.observation.local)).toEqual(['rst', 'fin']);
  });

  it('my proxy must not truncate on upstream reset: the naive proxy fails it, the faithful one passes', async () => {
    const upstream = cleanup.add(await createFaultServer({ behavior: 'reset-after-bytes', bytes: 3000, awaitRequest: true }));
    const naive = await naiveProxy(upstream.port);
    cleanup.add({ close: () => new Promise((resolve) => naive.close(resolve)) });
    const throughNaive = await probe('127.0.0.1', portOf(naive), { send: 1, timeoutMs: 500 });
    // The reset is lost: a clean-looking end (truncation unnoticed) or a hang.
    expect(throughNaive.outcome).not.toBe('rst');

    const faithful = cleanup.add(await createFaultProxy({ upstream: upstream.port }));
    const throughFaithful = await probe('127.0.0.1', faithful.port, { send: 1 });
    expect(throughFaithful).toMatchObject({ outcome: 'rst', received: 3000 });
  });

  it('my server must survive clients that reset mid-request: still serving, descriptors back', async () => {
    const server = await listen(
      http.createServer((request, response) => {
        request.resume();
        request.on('end', () => response.end('ok'));
      }),
    );
    cleanup.add({ close: () => new Promise((resolve) => server.close(resolve)) });
    const before = openSockets();
    const proxy = cleanup.add(
      await createFaultProxy({ upstream: portOf(server), toxics: [{ type: 'limit_data', stream: 'upstream', attributes: { bytes: 100, mode: 'reset' } }] }),
    );
    const resets: number[] = [];
    proxy.on('toxic', (_event, id: number) => resets.push(id));
    const request = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n${'b'.repeat(2000)}`;
    for (let i = 0; i < 20; i++) expect((await probe('127.0.0.1', proxy.port, { send: request })).outcome).toBe('rst');
    expect(resets).toHaveLength(20);

    proxy.removeAllToxics();
    const ok = await probe('127.0.0.1', proxy.port, { send: request, shutdown: true });
    expect(ok.outcome).toBe('fin');
    expect(ok.received).toBeGreaterThan(0);
    await until(
      () => new Promise<boolean>((resolve) => server.getConnections((_, count) => resolve(count === 0))),
      5000,
      'the server to close every connection',
    );
    await until(() => proxy.activeConnections === 0, 5000, 'the proxy to close every connection');
    // The proxy's listener is the only socket added since.
    expect(socketsOpenedSince(before)).toHaveLength(1);
  });
});
