// inspectSocket() and closeWouldReset(): what the kernel knows about a connection, read without
// changing it, and a prediction of RST that the peer then confirms.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { kernelClient } from '../helpers/kernel-client.js';
import { closeServer, listen, portOf, tcpPair } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { until } from '../helpers/wait.js';

const { inspectSocket, closeWouldReset, setLinger } = sockclose;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A pair whose server side never reads until told (pauseOnConnect) and survives a half-close. */
async function pausedPair() {
  const { client, server, listener } = await tcpPair({ server: { pauseOnConnect: true, allowHalfOpen: true }, clientHalfOpen: true });
  cleanups.push(() => closeServer(listener));
  client.on('error', () => undefined);
  cleanups.push(() => void client.destroy());
  cleanups.push(() => void server.destroy());
  return { client, server };
}

describe('inspectSocket', () => {
  it('describes a healthy connection', async () => {
    const { client } = await pausedPair();
    expect(inspectSocket(client)).toMatchObject({
      fd: sockclose.socketFd(client),
      family: 'IPv4',
      state: 'ESTABLISHED',
      unreadBytes: 0,
      unsentBytes: 0,
      unackedBytes: 0,
      sendQueueBytes: 0,
      nodeQueuedBytes: 0,
      peerFinReceived: false,
      pendingError: null,
      pendingErrorKnown: true,
      linger: { enabled: false, seconds: 0, emulated: false },
      closeWouldReset: false,
      tcp: { retransmits: 0, bytesReceived: 0 },
    });
    expect(inspectSocket(client).tcp!.rttMicros).toBeGreaterThan(0);
  });

  it('counts unread input, and the unsent and unacknowledged output to a peer that does not read', async () => {
    const { client, server } = await pausedPair();
    client.write(Buffer.alloc(16 * 1024 * 1024));
    await until(() => (inspectSocket(server).unreadBytes ?? 0) > 0 && (inspectSocket(client).sendQueueBytes ?? 0) > 0, 5000, 'queues to fill');
    const sender = inspectSocket(client);
    expect(sender.unsentBytes! + sender.unackedBytes!).toBe(sender.sendQueueBytes);
    expect(sender.nodeQueuedBytes).toBeGreaterThan(0); // the rest waits in libuv
    expect(inspectSocket(server).unreadBytes).toBeGreaterThan(0);
    expect(inspectSocket(server).closeWouldReset).toBe(true);
  });

  it("follows the state machine: CLOSE_WAIT after the peer's FIN, which bytesReceived counts as one", async () => {
    const { client, server } = await pausedPair();
    client.end('abc');
    await until(() => inspectSocket(server).state === 'CLOSE_WAIT', 5000, 'the FIN to arrive');
    await until(() => inspectSocket(client).state === 'FIN_WAIT2', 5000, 'the FIN to be acknowledged');
    expect(inspectSocket(server)).toMatchObject({ unreadBytes: 3, peerFinReceived: true, tcp: { bytesReceived: 4 } });
    expect(inspectSocket(client).peerFinReceived).toBe(false);
  });

  it("tells the peer's FIN from the state for a descriptor number too; in CLOSE only a socket's byte count can", async () => {
    const { client, server } = await pausedPair();
    const fd = sockclose.socketFd(server);
    expect(inspectSocket(fd).peerFinReceived).toBe(false); // ESTABLISHED
    client.end('abc');
    await until(() => inspectSocket(fd).state === 'CLOSE_WAIT', 5000, 'the FIN to arrive');
    expect(inspectSocket(fd).peerFinReceived).toBe(true);
    // Our FIN, then the peer's ACK: LAST_ACK, then CLOSE, where a FIN and an RST look alike.
    server.end();
    await until(() => inspectSocket(server).state === 'CLOSE', 5000, 'the connection to end');
    expect(inspectSocket(server).peerFinReceived).toBe(true); // received 4: the 3 bytes still unread, and the FIN
    expect(inspectSocket(fd).peerFinReceived).toBeNull(); // no handle to count what was read
  });

  it('after a reset: CLOSE, the error pending, and no RST left to send', async () => {
    const { client, server } = await pausedPair();
    client.write('unread by the server');
    await until(() => inspectSocket(server).unreadBytes === 20, 5000, 'the bytes to arrive');
    sockclose.hardReset(client);
    await until(() => inspectSocket(server).state === 'CLOSE', 5000, 'the reset to arrive');
    expect(inspectSocket(server)).toMatchObject({
      state: 'CLOSE',
      unreadBytes: 20, // still readable
      peerFinReceived: false, // an RST, no FIN
      pendingError: expect.objectContaining({ code: 'ECONNRESET' }),
      closeWouldReset: false, // the connection is gone; there is nobody left to reset
    });
  });
});

describe('closeWouldReset', () => {
  it('predicts what the peer then sees: RST with input unread, FIN without', async () => {
    const outcomes: Record<string, boolean> = {};
    const listener = await listen(
      net.createServer({ pauseOnConnect: true }, (socket) => {
        // Wait until the peer's bytes are here, then decide whether to read them first.
        void until(() => (inspectSocket(socket).unreadBytes ?? 0) > 0, 5000, 'the request').then(async () => {
          const readFirst = outcomes.unread !== undefined;
          if (readFirst) {
            socket.resume();
            await until(() => inspectSocket(socket).unreadBytes === 0, 5000, 'the server to read');
          }
          outcomes[readFirst ? 'read' : 'unread'] = closeWouldReset(socket);
          socket.destroy();
        });
      }),
    );
    cleanups.push(() => closeServer(listener));
    const unread = await kernelClient({ port: portOf(listener), send: 4 });
    const read = await kernelClient({ port: portOf(listener), send: 4 });
    expect(outcomes).toEqual({ unread: true, read: false });
    expect(unread.end).toBe('ECONNRESET');
    expect(read.end).toBe('eof');
  });

  it('is true with an abortive linger even with nothing unread', async () => {
    const { client } = await pausedPair();
    expect(closeWouldReset(client)).toBe(false);
    setLinger(client, 0);
    expect(closeWouldReset(client)).toBe(true);
  });
});
