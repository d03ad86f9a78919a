// What auditCloses() says was still queued in Node when a close discarded it: the write in
// progress counted once (Node's stream counts it whole until it completes, libuv's queue counts
// the part the kernel has not taken), so "never received" stays within what was written.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { until } from '../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const PAYLOAD = 32 * 1024 * 1024;
const TAIL = 1000;

/** Audits `server`, listens, and connects a client that reads nothing. */
async function auditedPausedClient(server: net.Server) {
  const audit = sockclose.auditCloses(server);
  cleanups.push(() => audit.stop());
  await listen(server);
  cleanups.push(() => closeServer(server));
  const client = net.connect({ port: portOf(server), host: '127.0.0.1' });
  client.on('error', () => {});
  cleanups.push(() => client.destroy());
  client.pause();
  return { audit, client };
}

describe('auditCloses: bytes queued in Node at the close', () => {
  it('a 32 MiB write to a client that does not read, reset with its request unread: counted once', async () => {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      socket.write(Buffer.alloc(PAYLOAD));
      socket.write(Buffer.alloc(TAIL)); // waits in the stream's buffer behind the first
      // Once the kernel's buffers are full and libuv holds the rest, and the request is here.
      void until(() => {
        const seen = sockclose.inspectSocket(socket);
        return (seen.nodeQueuedBytes ?? 0) > 1024 * 1024 && (seen.unreadBytes ?? 0) > 0;
      }, 5000, 'the queues to fill').then(() => socket.destroy());
    });
    const { audit, client } = await auditedPausedClient(server);
    client.write('ping');
    // A paused client hears nothing of the reset: the audit's record is what is awaited.
    await until(() => audit.recent().length === 1, 10_000, 'the close on record');
    const [close] = audit.recent();
    expect(close).toMatchObject({ end: 'rst', cause: 'unread' });
    // Before, the write in progress counted twice: about 62 MB here.
    expect(close!.queuedBytes).toBeGreaterThan(TAIL);
    expect(close!.queuedBytes).toBeLessThanOrEqual(PAYLOAD + TAIL);
    expect(close!.unreceivedBytes).toBeLessThanOrEqual(PAYLOAD + TAIL);
  });

  it("a FIN close that discards what Node still held: counted, and the summary says the client never got it (it said nothing was lost)", async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.write(Buffer.alloc(8 * 1024 * 1024));
      // Nothing unread (the client sent nothing): the close is a FIN, behind what Node still holds.
      void until(() => (sockclose.inspectSocket(socket).nodeQueuedBytes ?? 0) > 1024 * 1024, 5000, "Node's queue to fill").then(() => socket.destroy());
    });
    const { audit } = await auditedPausedClient(server);
    await until(() => audit.counts().closed === 1, 10_000, 'the close counted');
    const counts = audit.counts();
    expect(counts).toMatchObject({ ends: { fin: 1 }, resetsWithData: 0, discardedWrites: 1 });
    expect(counts.discardedBytes).toBeGreaterThan(1024 * 1024);
    expect(audit.summary()).toMatch(/^None of 1 connection ended with an RST that could lose a response, but 1 closed with [\d.]+ [kM]B of its response still queued in Node, never sent \(destroyed before the write finished\)\.$/);
  });
});
