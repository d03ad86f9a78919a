// A number socketFd() handed out, then the socket destroyed and connected again: its new handle
// usually gets the same number (the kernel gives the lowest free one). hardReset(number) would close
// the descriptor under the reconnected socket's libuv handle; it must be refused as while the first
// connection lived.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent } from '../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The descriptor Node's handle holds, read without sockclose (which would record it). */
function handleFd(socket: net.Socket): number {
  return (socket as unknown as { _handle: { fd: number } | null })._handle?.fd ?? -1;
}

describe('a handed-out number held again by the same socket, reconnected', () => {
  it('hardReset(number) is refused with ERR_SOCKCLOSE_SOCKET_OWNS_FD, and the reconnected socket works on', async () => {
    const server = net.createServer((peer) => peer.on('error', () => {}).resume());
    await listen(server);
    cleanups.push(() => closeServer(server));

    const client = net.connect(portOf(server), '127.0.0.1');
    client.on('error', () => {});
    cleanups.push(() => client.destroy());
    await nextEvent(client, 'connect');
    const number = sockclose.socketFd(client);

    // Bounded: the kernel normally gives the freed number back at the first attempt.
    let reused = false;
    for (let attempt = 0; attempt < 10 && !reused; attempt++) {
      const closed = nextEvent(client, 'close');
      client.destroy();
      await closed;
      client.connect(portOf(server), '127.0.0.1');
      await nextEvent(client, 'connect');
      reused = handleFd(client) === number;
    }
    expect(reused, `the reconnected socket got descriptor ${number} again`).toBe(true);

    expect(() => sockclose.hardReset(number)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_SOCKET_OWNS_FD' }));
    // Its descriptor is intact: still the connected socket's.
    expect(handleFd(client)).toBe(number);
    expect(sockclose.inspectSocket(client).state).toBe('ESTABLISHED');
  });
});
