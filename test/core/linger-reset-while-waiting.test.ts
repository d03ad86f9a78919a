// An emulated linger (setLinger(socket, n > 0)) whose close is waiting for the peer, then Node's
// resetAndDestroy() on that socket (destroyed, its handle still open). setLinger()'s TSDoc: the
// handle closes "at once if the peer resets meanwhile, or an abortive close is asked for
// (`resetAndDestroy()`)". The wait looked for the reset only as it began: asked for during the
// wait, the reset came only once the n seconds were up.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, connectionsLeftOnServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, within } from '../helpers/wait.js';

const { setLinger } = sockclose;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Long: a reset held to the emulated linger fails the test on the close's wait, far shorter.
const SECONDS = 20;

describe('an emulated linger waiting at close', () => {
  it("resetAndDestroy() during the wait resets at once", async () => {
    const server = net.createServer({ pauseOnConnect: true });
    await listen(server);
    cleanups.push(() => closeServer(server));
    const accepted = nextEvent<[net.Socket]>(server, 'connection');
    // Reads nothing: the bytes written stay unsent, and the linger waits.
    const peer = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
    peer.on('error', () => undefined);
    peer.pause();
    cleanups.push(() => peer.destroy());
    const [socket] = await accepted;
    socket.on('error', () => undefined);
    setLinger(socket, SECONDS);
    socket.write(Buffer.alloc(8 * 1024 * 1024));
    socket.destroy();
    // The wait has begun: the socket is destroyed, its handle still open.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(socket.destroyed && !socket.closed).toBe(true);
    const closed = nextEvent(socket, 'close', 2 * SECONDS * 1000, 'ignore');
    socket.resetAndDestroy();
    await within(closed, 3000, "the socket's 'close' (a reset held to the emulated linger waits its seconds)");
    // Reset: nothing left of it in the kernel (a plain close would leave FIN-WAIT with megabytes).
    expect(connectionsLeftOnServer(server)).toBe(0);
  });
});
