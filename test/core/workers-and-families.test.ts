// The addon in several worker_threads at once, and on every family where its options mean
// something: IPv4, IPv6, and AF_UNIX (which has no RST and no linger).
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, tcpPair, unixPair } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('worker_threads', () => {
  it('four workers and the main thread use the addon at the same time, each with its own state', async () => {
    const script = path.join(root, 'test', 'fixtures', 'worker-scenario.cjs');
    const workers = [0, 1, 2, 3].map((index) => new Worker(script, { workerData: { host: index % 2 ? '::1' : '127.0.0.1', rounds: 5 } }));
    const reports = workers.map((worker) => nextEvent<[unknown]>(worker, 'message', 20_000).then(([message]) => message));

    // Meanwhile, on the main thread:
    const { client, server, listener } = await tcpPair();
    sockclose.setLinger(server, 0);
    expect(sockclose.getLinger(server)).toEqual({ enabled: true, seconds: 0, emulated: false });
    client.destroy();
    server.destroy();
    await closeServer(listener);

    const results = await within(Promise.all(reports), 30_000, 'the workers to report');
    await Promise.all(workers.map((worker) => worker.terminate()));
    results.forEach((result, index) => {
      expect(result, `worker ${index}`).toHaveLength(5);
      for (const round of result as Record<string, unknown>[]) {
        expect(round).toEqual({
          linger: { enabled: true, seconds: 0, emulated: false },
          family: index % 2 ? 'IPv6' : 'IPv4',
          seen: 'ECONNRESET',
          native: true,
        });
      }
    });
  });
});

describe('IPv6', () => {
  it('resets, peeks and inspects on ::1 as on 127.0.0.1', async () => {
    const { client, server, listener } = await tcpPair('::1');
    cleanups.push(() => closeServer(listener));
    expect(sockclose.inspectSocket(server)).toMatchObject({ family: 'IPv6', state: 'ESTABLISHED' });
    client.pause();
    sockclose.hardReset(server);
    await until(() => sockclose.inspectSocket(client).state === 'CLOSE', 5000, 'the RST to arrive');
    expect(sockclose.peekSocketError(client)).toMatchObject({ code: 'ECONNRESET' });
    expect(sockclose.takeSocketError(client)).toMatchObject({ code: 'ECONNRESET' });
    client.destroy();
  });
});

describe('AF_UNIX', () => {
  async function pair() {
    const made = await unixPair();
    cleanups.push(() => fs.rmSync(made.dir, { recursive: true, force: true }));
    cleanups.push(() => closeServer(made.listener));
    cleanups.push(() => void made.client.destroy());
    cleanups.push(() => void made.server.destroy());
    return made;
  }

  it('has no RST and no linger: hardReset and setLinger refuse it', async () => {
    const { server } = await pair();
    expect(() => sockclose.hardReset(server)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NOT_TCP' }));
    expect(() => sockclose.setLinger(server, 0)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NOT_TCP' }));
    expect(server.destroyed).toBe(false);
  });

  it('inspects: family, state, unread bytes, and closeWouldReset for unread input', async () => {
    const { client, server } = await pair();
    server.pause();
    client.write('12345');
    await until(() => (sockclose.inspectSocket(server).unreadBytes ?? 0) > 0 || server.readableLength > 0, 5000, 'bytes to arrive');
    const inspection = sockclose.inspectSocket(server);
    expect(inspection).toMatchObject({ family: 'unix', state: 'ESTABLISHED', tcp: null, pendingError: null });
    // Node may already have pulled the bytes into its stream buffer; the kernel counts the rest.
    expect(inspection.unreadBytes! + server.readableLength).toBe(5);
    expect(sockclose.closeWouldReset(server)).toBe(inspection.unreadBytes! > 0);
  });

  it("closing with our peer's data unread gives the peer ECONNRESET, which peek reports", async () => {
    // The AF_UNIX meaning of a reset: the closing side had unread input.
    const made = await pair();
    const paused = made.server;
    paused.pause();
    made.client.write('x'.repeat(100_000)); // more than Node buffers before it stops reading
    await until(() => (sockclose.inspectSocket(paused).unreadBytes ?? 0) > 0, 5000, 'input to stay unread');
    expect(sockclose.closeWouldReset(paused)).toBe(true);
    made.client.pause();
    paused.destroy();
    await until(() => sockclose.peekSocketError(made.client) !== null, 5000, 'the peer to see the error');
    expect(sockclose.peekSocketError(made.client)).toMatchObject({ code: 'ECONNRESET', inferred: true });
    expect(sockclose.takeSocketError(made.client)).toMatchObject({ code: 'ECONNRESET', inferred: false });
  });

  it('half-closes with shutdownWrite: the peer reads EOF and can still answer', async () => {
    const { client, server } = await pair();
    const received: Buffer[] = [];
    server.on('data', (chunk: Buffer) => received.push(chunk));
    server.on('end', () => server.end('answer'));
    client.write('question');
    await sockclose.shutdownWrite(client);
    const [reply] = await nextEvent<[Buffer]>(client.setEncoding('utf8'), 'data');
    expect(reply).toBe('answer');
    expect(Buffer.concat(received).toString()).toBe('question');
  });
});
