// sockclose:hard-reset is documented (docs/observability.md, HardResetMessage) as published "once
// per hardReset() that reset a connection, after it did". hardReset() of a socket whose
// connection the peer had already reset (TCP state CLOSE) sends no RST: there is no connection
// left to reset. It published all the same, so a subscriber counting resets counted one too many.
// A connection still there is reported as before.
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Published {
  socket: net.Socket | null;
  fd: number;
}

/** Subscribes to sockclose:hard-reset for the test; returns what it receives. */
function subscribed(): Published[] {
  const published: Published[] = [];
  const onMessage = (message: unknown) => published.push(message as Published);
  diagnosticsChannel.subscribe('sockclose:hard-reset', onMessage);
  cleanups.push(() => diagnosticsChannel.unsubscribe('sockclose:hard-reset', onMessage));
  return published;
}

/** An accepted socket (not reading: pauseOnConnect) and its client. */
async function acceptedPair(): Promise<{ accepted: net.Socket; client: net.Socket }> {
  const server = await listen(net.createServer({ pauseOnConnect: true }));
  cleanups.push(() => closeServer(server));
  const acceptedEvent = nextEvent<[net.Socket]>(server, 'connection');
  const client = net.connect(portOf(server), '127.0.0.1');
  client.on('error', () => undefined);
  cleanups.push(() => void client.destroy());
  const [accepted] = await acceptedEvent;
  accepted.on('error', () => undefined);
  cleanups.push(() => void accepted.destroy());
  if (client.connecting) await nextEvent(client, 'connect');
  return { accepted, client };
}

describe('sockclose:hard-reset and hardReset() of a connection that is over', () => {
  it('the peer reset it first (CLOSE): no message, as no RST went out', async () => {
    const published = subscribed();
    const { accepted, client } = await acceptedPair();
    client.resetAndDestroy();
    await until(() => sockclose.inspectSocket(accepted).state === 'CLOSE', 5000, "the peer's RST reached the accepted socket");
    const closed = nextEvent(accepted, 'close', 5000, 'ignore');
    sockclose.hardReset(accepted);
    await closed;
    expect(published).toEqual([]);
  });

  it('a live connection: one message, with the socket and its descriptor', async () => {
    const published = subscribed();
    const { accepted, client } = await acceptedPair();
    const fd = sockclose.socketFd(accepted);
    const reset = new Promise<string>((resolve) => client.once('error', (error: Error & { code?: string }) => resolve(error.code ?? '')));
    client.resume();
    sockclose.hardReset(accepted);
    expect(await within(reset, 5000, "the client's ECONNRESET")).toBe('ECONNRESET');
    expect(published).toEqual([{ socket: accepted, fd }]);
  });
});
