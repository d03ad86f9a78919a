// peerFinReceived from the TCP state: the state now answers in every state
// but CLOSE, while in CLOSE the answer still rests on the byte count, which fails (null) for a
// handle that did not read from the start (its bytes read by someone else first: a sticky-session
// primary that read the request before passing the socket on, a native reader). A look in a live
// state answering from the state must not be taken for "the kernel counts FINs here".
import fs from 'node:fs';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { harness } from './load.js';
import { sockclose } from '../helpers/sockclose.js';
import { tcpPair } from '../helpers/net.js';
import { nextEvent, until, within } from '../helpers/wait.js';

const { observeClose } = harness;
const { inspectSocket } = sockclose;

const opened: Array<{ close(): unknown } | net.Socket> = [];
afterEach(() => {
  for (const thing of opened.splice(0)) {
    if (thing instanceof net.Socket) thing.destroy();
    else thing.close();
  }
});

/** A pair whose server side had 5 request bytes read from its descriptor behind Node's back. */
async function readBehindNode(allowHalfOpen = false) {
  const { client, server, listener } = await tcpPair({ server: { pauseOnConnect: true, allowHalfOpen }, clientHalfOpen: true });
  opened.push(listener, client, server);
  for (const socket of [client, server]) socket.on('error', () => {});
  client.write('hello');
  await until(() => inspectSocket(server).unreadBytes === 5, 5000, 'the request bytes in the server kernel');
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  // The descriptor is non-blocking, and the bytes are there: read(2) returns them at once.
  expect(fs.readSync(fd, Buffer.alloc(16))).toBe(5);
  return { client, server };
}

describe('peerFinReceived from the state, and a byte count that does not add up', () => {
  it('the count is null in CLOSE for such a handle (the premise)', async () => {
    const { client, server } = await readBehindNode(true);
    expect(inspectSocket(server).peerFinReceived).toBe(false); // ESTABLISHED, from the state
    server.end(); // still paused: Node reads nothing, and keeps the socket open at the peer's FIN
    await nextEvent(client, 'end');
    client.end();
    await until(() => inspectSocket(server).state === 'CLOSE', 5000, 'CLOSE after both FINs');
    expect(inspectSocket(server).peerFinReceived).toBeNull();
  });

  it("observeClose(): our FIN first, then the peer's: the peer's FIN is still reported", async () => {
    const { client, server } = await readBehindNode();
    const observed = observeClose(server);
    server.resume();
    server.end(); // our FIN first: FIN_WAIT1/2, which the look at 'finish' sees
    await nextEvent(client, 'end');
    client.end(); // the peer's FIN takes the server's socket to CLOSE (TIME_WAIT)
    const observation = await within(observed, 10_000, 'the observed socket to close');
    expect(observation.node.sawEnd).toBe(true);
    expect(observation.snapshots.some((s) => s.state === 'FIN_WAIT1' || s.state === 'FIN_WAIT2')).toBe(true);
    expect(observation).toMatchObject({ initiator: 'local', peer: 'fin', local: 'fin', kernelError: null });
  });
});
