// shutdownWrite() on a connection the peer ended with its FIN and then reset. No FIN of ours can go
// out (shutdown() fails with ENOTCONN, which Node takes for success): it must reject with ENOTCONN,
// as for a reset without the FIN first. Node has read that FIN, so its stream's input has ended
// and Node destroys the socket right after 'finish' (autoDestroy): the kernel must be asked
// before that, while the handle is open.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until } from '../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A half-open client whose peer sent its FIN and then an RST, `outstanding` bytes of the client's
 * in the kernel, sent after that FIN and never acknowledged (the peer does not read; 0: nothing
 * of the client's outstanding). Node read the FIN, so its stream's input has ended.
 */
async function resetAfterFin(outstanding: number): Promise<net.Socket> {
  let resolvePeer!: (socket: net.Socket) => void;
  const accepted = new Promise<net.Socket>((resolve) => (resolvePeer = resolve));
  // pauseOnConnect: the peer never reads, so what the client sends stays unacknowledged once its
  // receive buffer is full.
  const srv = await listen(net.createServer({ pauseOnConnect: true }, (socket) => resolvePeer(socket)));
  cleanups.push(() => closeServer(srv));
  const client = net.connect({ port: portOf(srv), host: '127.0.0.1', allowHalfOpen: true });
  client.on('error', () => {});
  cleanups.push(() => void client.destroy());
  await nextEvent(client, 'connect');
  const peer = await accepted;
  peer.on('error', () => {});
  const ended = nextEvent(client, 'end');
  client.resume();
  peer.end();
  await ended; // Node read the FIN: libuv stops reading, and nothing takes the reset's error
  if (outstanding > 0) {
    // Handed to the kernel whole (libuv's queue empty again), so the reset fails no write of Node's.
    await new Promise<void>((resolve, reject) => client.write(Buffer.alloc(outstanding), (error) => (error ? reject(error) : resolve())));
  }
  sockclose.hardReset(peer); // SO_LINGER {1, 0} after its FIN: an RST
  await until(() => sockclose.inspectSocket(client).state === 'CLOSE', 5000, 'the reset to arrive');
  return client;
}

describe('shutdownWrite() on a connection reset after the peer\'s FIN', () => {
  it('rejects with ENOTCONN, bytes of ours outstanding (the reset left them in the send queue)', async () => {
    const client = await resetAfterFin(256 * 1024);
    expect(sockclose.inspectSocket(client)).toMatchObject({ state: 'CLOSE', peerFinReceived: true, sendQueueBytes: expect.any(Number) });
    expect(sockclose.inspectSocket(client).sendQueueBytes).toBeGreaterThan(0);
    // Before: the socket was destroyed at 'finish', before the kernel was asked, and it resolved.
    await expect(sockclose.shutdownWrite(client)).rejects.toMatchObject({ code: 'ENOTCONN', syscall: 'shutdown' });
  });

  it('rejects with ENOTCONN, nothing of ours outstanding (only the pending error tells it from a clean end)', async () => {
    const client = await resetAfterFin(0);
    // The kernel's view: over, the peer's FIN counted and an empty send queue, as after a clean
    // end of both sides; but the reset's error (EPIPE) is pending.
    expect(sockclose.inspectSocket(client)).toMatchObject({ state: 'CLOSE', peerFinReceived: true, sendQueueBytes: 0, pendingError: { code: 'EPIPE' } });
    // Before: kernelPeerEnd() took it for a clean end ('fin'), and it resolved.
    await expect(sockclose.shutdownWrite(client)).rejects.toMatchObject({ code: 'ENOTCONN', syscall: 'shutdown' });
  });

  it('still resolves on a connection both sides finished cleanly (the peer\'s FIN first, then ours)', async () => {
    const srv = await listen(net.createServer({ allowHalfOpen: true }, (socket) => socket.end()));
    cleanups.push(() => closeServer(srv));
    const client = net.connect({ port: portOf(srv), host: '127.0.0.1', allowHalfOpen: true });
    cleanups.push(() => void client.destroy());
    const ended = nextEvent(client, 'end');
    client.resume();
    await ended;
    await sockclose.shutdownWrite(client);
    await nextEvent(client, 'close');
  });
});
