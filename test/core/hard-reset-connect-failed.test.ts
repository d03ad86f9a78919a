// hardReset() on a socket still connecting resets it once it connects, and "if it never connects,
// there is nothing to reset". Its 'connect' listener outlived a failed attempt: Node lets a socket
// connect again after its 'close', and the reset meant for the attempt that failed hit the next
// connection made on the same socket, at once (the peer saw ECONNRESET, the application a socket
// destroyed in its own 'connect').
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, refusingPort } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent } from '../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('hardReset() of a socket whose connect then fails', () => {
  it('resets nothing: a later connection on the same socket is left alone', async () => {
    const refusing = await refusingPort();
    cleanups.push(() => refusing.close());
    const echo = await listen(net.createServer((socket) => socket.on('error', () => {}).pipe(socket)));
    cleanups.push(() => closeServer(echo));

    const socket = new net.Socket();
    cleanups.push(() => void socket.destroy());
    const errors: string[] = [];
    socket.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? String(error)));
    socket.connect(refusing.port, '127.0.0.1');
    expect(socket.connecting).toBe(true);
    sockclose.hardReset(socket);
    await nextEvent(socket, 'close', 5000, 'ignore'); // its 'error' is counted above
    expect(errors).toEqual(['ECONNREFUSED']);

    // Connected again after 'close', as Node allows: this connection was never asked to reset.
    socket.connect(portOf(echo), '127.0.0.1');
    await nextEvent(socket, 'connect');
    // Before: destroyed by then (the first attempt's listener reset it).
    expect(socket.destroyed).toBe(false);
    const echoed = nextEvent<[Buffer]>(socket, 'data');
    socket.write('still here');
    expect(String((await echoed)[0])).toBe('still here');
    expect(errors).toEqual(['ECONNREFUSED']);
  });

  it('still resets a socket that connects after the call', async () => {
    let resolvePeer!: (socket: net.Socket) => void;
    const accepted = new Promise<net.Socket>((resolve) => (resolvePeer = resolve));
    const listener = await listen(net.createServer((peer) => resolvePeer(peer)));
    cleanups.push(() => closeServer(listener));
    const socket = net.connect(portOf(listener), '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    expect(socket.connecting).toBe(true);
    sockclose.hardReset(socket);
    const peer = await accepted;
    const peerError = nextEvent<[NodeJS.ErrnoException]>(peer, 'error');
    peer.resume();
    await nextEvent(socket, 'close');
    expect((await peerError)[0].code).toBe('ECONNRESET');
  });
});
