// inspectSocket().nodeQueuedBytes on TLS sockets: Node's TLS layer and its transport each count
// bytes Node has not handed to the kernel, the first including the second's, and the first keeps
// counting a close_notify Node never writes once the socket is ended right after its handshake.
import tls from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, until } from '../helpers/wait.js';

const { inspectSocket } = sockclose;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const PAYLOAD = 32 * 1024 * 1024;
// TLS 1.3 records carry up to 16 KiB of data with ~22 bytes of framing, tag and type.
const MAX_ENCRYPTED = PAYLOAD * (1 + 32 / 16384) + 4096;

/** A TLS server whose accepted socket is passed to `onSocket`, and a client connected to it. */
async function tlsPair(onSocket: (socket: tls.TLSSocket) => void, clientReads: boolean) {
  const { key, cert } = testCert();
  let accepted: tls.TLSSocket | undefined;
  const server = tls.createServer({ key, cert }, (socket) => {
    socket.on('error', () => {});
    cleanups.push(() => socket.destroy());
    accepted = socket;
    onSocket(socket);
  });
  await listen(server);
  cleanups.push(() => closeServer(server));
  const client = tls.connect({ port: portOf(server), host: '127.0.0.1', rejectUnauthorized: false, allowHalfOpen: true });
  client.on('error', () => {});
  cleanups.push(() => client.destroy());
  if (clientReads) client.resume();
  else client.pause();
  await until(() => accepted !== undefined, 5000, 'the TLS connection');
  return { socket: accepted!, client };
}

describe('inspectSocket on TLS: nodeQueuedBytes', () => {
  it('a write to a peer that does not read is counted once, not once per layer', async () => {
    const { socket } = await tlsPair((s) => s.write(Buffer.alloc(PAYLOAD)), false);
    // Until the kernel's buffers are full and libuv holds the rest.
    await until(() => (inspectSocket(socket).sendQueueBytes ?? 0) > 0 && (inspectSocket(socket).nodeQueuedBytes ?? 0) > 1024 * 1024, 5000, 'the queues to fill');
    const queued = inspectSocket(socket).nodeQueuedBytes!;
    // Summing the two layers counted about 63 MB of a 32 MiB write here.
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThanOrEqual(MAX_ENCRYPTED);
  });

  it('ended right after the handshake, its peer quiet: 0 once finished (no close_notify left to count)', async () => {
    const { socket, client } = await tlsPair((s) => s.end('hello'), true);
    if (!socket.writableFinished) await nextEvent(socket, 'finish', 5000);
    if (!client.readableEnded) await nextEvent(client, 'end', 5000); // our FIN came: nothing of ours is left anywhere
    expect(socket.destroyed).toBe(false); // half-closed, waiting for the peer's end
    expect(inspectSocket(socket).nodeQueuedBytes).toBe(0);
  });
});
