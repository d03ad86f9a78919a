// shutdownWrite(): FIN after every byte already written, reading goes on (a half-close).
import net from 'node:net';
import tls from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, until } from '../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server that counts what it receives until EOF, then answers with that count. */
function countingHandler(socket: net.Socket): void {
  let received = 0;
  socket.on('data', (chunk: Buffer) => (received += chunk.length));
  socket.on('end', () => socket.end(String(received)));
}

async function reply(socket: net.Socket): Promise<string> {
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  await nextEvent(socket, 'end', 10_000);
  return text;
}

describe('shutdownWrite', () => {
  it('on a TCP socket: nothing queued in Node is truncated, and the answer still arrives', async () => {
    const listener = await listen(net.createServer({ allowHalfOpen: true }, countingHandler));
    cleanups.push(() => closeServer(listener));
    const client = net.connect(portOf(listener), '127.0.0.1');
    cleanups.push(() => void client.destroy());
    await nextEvent(client, 'connect');
    const size = 8 * 1024 * 1024;
    client.write(Buffer.alloc(size)); // most of it is still queued in Node when we shut down
    const answer = reply(client);
    await sockclose.shutdownWrite(client);
    expect(sockclose.inspectSocket(client).state).toMatch(/^FIN_WAIT/);
    expect(await answer).toBe(String(size));
  });

  it('on a TLS socket: close_notify and FIN after the data', async () => {
    const { key, cert } = testCert();
    const listener = await listen(tls.createServer({ key, cert, allowHalfOpen: true }, countingHandler));
    cleanups.push(() => closeServer(listener));
    const client = tls.connect({ port: portOf(listener), host: '127.0.0.1', rejectUnauthorized: false });
    cleanups.push(() => void client.destroy());
    await nextEvent(client, 'secureConnect');
    client.write(Buffer.alloc(1024 * 1024));
    const answer = reply(client);
    await sockclose.shutdownWrite(client);
    expect(await answer).toBe(String(1024 * 1024));
  });

  it('on a raw descriptor: shutdown(2), the peer reads EOF', async () => {
    const listener = await listen(net.createServer({ allowHalfOpen: true }, countingHandler));
    cleanups.push(() => closeServer(listener));
    const client = net.connect(portOf(listener), '127.0.0.1');
    cleanups.push(() => void client.destroy());
    await nextEvent(client, 'connect');
    await new Promise<void>((resolve) => client.write('12345', () => resolve()));
    const answer = reply(client);
    await sockclose.shutdownWrite(sockclose.socketFd(client));
    expect(await answer).toBe('5');
  });

  it('rejects with ERR_STREAM_PREMATURE_CLOSE when the socket is destroyed before its FIN went out', async () => {
    // A peer that reads nothing: 8 MB stay queued in Node, so the FIN waits behind them.
    const accepted: net.Socket[] = [];
    const listener = await listen(net.createServer({ pauseOnConnect: true }, (socket) => void accepted.push(socket)));
    cleanups.push(() => closeServer(listener));
    cleanups.push(() => accepted.forEach((socket) => socket.destroy()));
    const client = net.connect(portOf(listener), '127.0.0.1');
    cleanups.push(() => void client.destroy());
    await nextEvent(client, 'connect');
    client.write(Buffer.alloc(8 * 1024 * 1024));
    const shut = sockclose.shutdownWrite(client);
    client.destroy();
    // Node 22 and later fail the cancelled write (ECANCELED), and finished() rejects with that
    // error of the socket's; Node 18 and 20 fail nothing, and sockclose says the FIN never went out.
    const error = (await shut.then(
      () => null,
      (failure: unknown) => failure,
    )) as NodeJS.ErrnoException | null;
    expect(['ERR_STREAM_PREMATURE_CLOSE', 'ECANCELED']).toContain(error?.code);
    expect(client.writableFinished).toBe(false);
  });

  it('resolves at once when already shut, and rejects for a destroyed socket', async () => {
    const listener = await listen(net.createServer({ allowHalfOpen: true }, countingHandler));
    cleanups.push(() => closeServer(listener));
    const client = net.connect(portOf(listener), '127.0.0.1');
    await nextEvent(client, 'connect');
    await sockclose.shutdownWrite(client);
    await expect(sockclose.shutdownWrite(client)).resolves.toBeUndefined();
    client.destroy();
    await expect(sockclose.shutdownWrite(client)).rejects.toMatchObject({ code: 'ERR_SOCKCLOSE_CLOSED' });
  });
});

describe('shutdownWrite() on a connection the peer reset', () => {
  it('rejects with ENOTCONN: no FIN could go out (Node itself reports success)', async () => {
    let resolvePeer!: (socket: net.Socket) => void;
    const accepted = new Promise<net.Socket>((resolve) => (resolvePeer = resolve));
    const srv = await listen(net.createServer((socket) => resolvePeer(socket)));
    cleanups.push(() => closeServer(srv));
    const client = net.connect(portOf(srv), '127.0.0.1');
    client.on('error', () => {});
    cleanups.push(() => void client.destroy());
    await nextEvent(client, 'connect');
    client.pause(); // Node does not read the reset: the socket stays Node's, its connection gone
    const peer = await accepted;
    peer.resetAndDestroy();
    await until(() => sockclose.inspectSocket(client).state === 'CLOSE', 5000, 'the reset to arrive');
    await expect(sockclose.shutdownWrite(client)).rejects.toMatchObject({ code: 'ENOTCONN', syscall: 'shutdown' });
  });
});
