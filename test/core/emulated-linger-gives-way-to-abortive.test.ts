// An emulated linger (setLinger(socket, n > 0)) gives way at close to an abortive linger set on
// the descriptor since ({1, 0}: the close resets at once, as the kernel's would). getLinger() and
// inspectSocket().linger must then report what the next close does, {1, 0}, not the emulated time.
import net from 'node:net';
import tls from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, until } from '../helpers/wait.js';

const { getLinger, inspectSocket, setLinger, socketFd, closeWouldReset, peekSocketError } = sockclose;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A connected pair: `socket` is the server's (TCP or TLS), `peer` the client, which never reads. */
async function pair(kind: 'tcp' | 'tls'): Promise<{ socket: net.Socket; peer: net.Socket }> {
  const { key, cert } = testCert();
  const server = kind === 'tls' ? tls.createServer({ key, cert }) : net.createServer();
  await listen(server);
  cleanups.push(() => closeServer(server));
  const accepted = nextEvent<[net.Socket]>(server, kind === 'tls' ? 'secureConnection' : 'connection');
  const peer =
    kind === 'tls'
      ? tls.connect({ port: portOf(server), host: '127.0.0.1', rejectUnauthorized: false, allowHalfOpen: true })
      : net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
  peer.on('error', () => undefined);
  cleanups.push(() => peer.destroy());
  const [socket] = await accepted;
  socket.on('error', () => undefined);
  cleanups.push(() => socket.destroy());
  await until(() => !(peer as net.Socket & { connecting: boolean }).connecting, 5000, 'the client to connect');
  peer.pause();
  return { socket, peer };
}

const ABORTIVE = { enabled: true, seconds: 0, emulated: false };

describe.each(['tcp', 'tls'] as const)('emulated linger, then {1, 0} on the descriptor (%s)', (kind) => {
  it('getLinger() and inspectSocket() report the abortive linger the close will apply', async () => {
    const { socket, peer } = await pair(kind);
    setLinger(socket, 5);
    expect(getLinger(socket)).toEqual({ enabled: true, seconds: 5, emulated: true });
    setLinger(socketFd(socket), 0);
    expect(getLinger(socketFd(socket))).toEqual(ABORTIVE);
    expect(closeWouldReset(socket)).toBe(true);
    expect(getLinger(socket)).toEqual(ABORTIVE);
    expect(inspectSocket(socket)).toMatchObject({ linger: ABORTIVE, closeWouldReset: true });

    // What the close does: RST at once (the peer's kernel holds ECONNRESET), no 5 s wait.
    // Node may read the RST first ('error'), or (libuv <= 1.51) as an EOF: then the kernel says.
    let peerError: string | undefined;
    peer.on('error', (error: NodeJS.ErrnoException) => (peerError = error.code));
    const closed = nextEvent(socket, 'close', 2000, 'ignore');
    socket.destroy();
    await closed;
    await until(() => (peer.destroyed ? peerError : peekSocketError(peer)?.code) === 'ECONNRESET', 2000, 'the RST at the peer');
  });

  it('once the descriptor is back to no linger, the emulated one shows again (it applies again)', async () => {
    const { socket } = await pair(kind);
    setLinger(socket, 5);
    setLinger(socketFd(socket), 0);
    setLinger(socketFd(socket), false);
    expect(getLinger(socket)).toEqual({ enabled: true, seconds: 5, emulated: true });
    expect(inspectSocket(socket).linger).toEqual({ enabled: true, seconds: 5, emulated: true });
  });
});
