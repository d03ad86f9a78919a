// A reset asked for around a lingering close's flush. Node's own resetAndDestroy() while end() is
// under way (lingeringClose()'s flush has just called it, or the application did): libuv refuses
// the reset while its shutdown is pending (uv_tcp_close_reset(): EINVAL), and Node then drops the
// handle without closing it. The descriptor leaked, 'close' never came, and a lingeringClose()
// promise never settled, whatever its maxTimeout. The reset must happen, as hardReset() does it.
// And setLinger(socket, 0) before lingeringClose(): the reset comes without a FIN before it.
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';

const { enableLingeringClose, lingeringClose, setLinger } = sockclose;

const cleanups = cleanupsAfterEach();

/**
 * A client that only reads, keeping what it gets: an RST with no FIN before it is ECONNRESET (and
 * no 'end').
 */
function readingClient(port: number): { closed: Promise<unknown>; errors: string[] } {
  const client = net.connect(port, '127.0.0.1');
  const errors: string[] = [];
  client.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? String(error)));
  client.on('end', () => errors.push('end'));
  client.resume();
  cleanups.add(() => void client.destroy());
  return { closed: nextEvent(client, 'close', 5000, 'ignore'), errors };
}

/** Waits until `socket` emits 'close' (its descriptor closed), collecting its 'error's meanwhile. */
function closeOf(socket: net.Socket): { closed: Promise<unknown>; errors: Error[] } {
  const errors: Error[] = [];
  socket.on('error', (error) => errors.push(error));
  return { closed: nextEvent(socket, 'close', 5000, 'ignore'), errors };
}

async function expectReset({ closed, errors }: { closed: Promise<unknown>; errors: string[] }): Promise<void> {
  await closed;
  expect(errors).toEqual(['ECONNRESET']);
}

/** A plain server's accepted socket (its 'close' and errors watched) and the reading client. */
async function accepted() {
  const srv = net.createServer();
  await listen(srv);
  cleanups.add(() => closeServer(srv));
  const client = readingClient(portOf(srv));
  const [socket] = await nextEvent<[net.Socket]>(srv, 'connection');
  return { client, socket, ...closeOf(socket) };
}

/** lingeringClose()'s rejection for a close that became a reset before it could linger. */
async function expectResetBeforeLinger(close: Promise<unknown>): Promise<void> {
  await expect(within(close, 5000, 'the lingering close to settle')).rejects.toMatchObject({
    code: 'ERR_SOCKCLOSE_CLOSED',
    message: expect.stringContaining('reset before it could linger'),
  });
}

describe("Node's resetAndDestroy() while end() is under way", () => {
  it('right after lingeringClose(): the connection is reset and closed, and the promise settles', async () => {
    const { client, socket, closed, errors } = await accepted();

    const close = lingeringClose(socket, { maxTimeout: 1000 });
    socket.resetAndDestroy();

    await closed;
    // Closed abortively before it could linger, as after hardReset().
    await expectResetBeforeLinger(close);
    expect(errors).toEqual([]);
    await expectReset(client);
  });

  it("on a lingering server's socket the application ended: reset at once, as the documentation says", async () => {
    const srv = net.createServer();
    const control = enableLingeringClose(srv);
    await listen(srv);
    cleanups.add(() => closeServer(srv), control);
    const accepted = nextEvent<[net.Socket]>(srv, 'connection');
    const client = readingClient(portOf(srv));
    const [socket] = await accepted;
    const { closed, errors } = closeOf(socket);

    socket.end('bye');
    socket.resetAndDestroy();

    await closed;
    expect(errors).toEqual([]);
    await expectReset(client);
    await within(control.drained(), 5000, 'the pool to drain');
    expect(control.stats().lingering).toBe(0);
  });

  it('after setLinger(socket, 0), lingeringClose() resets with no FIN first, and says it was reset', async () => {
    const { client, socket, closed, errors } = await accepted();

    setLinger(socket, 0);
    await expectResetBeforeLinger(lingeringClose(socket));
    await closed;
    expect(errors).toEqual([]);
    // Before: 'end' (our FIN, from the flush's end()), then ECONNRESET.
    await expectReset(client);
  });
});
