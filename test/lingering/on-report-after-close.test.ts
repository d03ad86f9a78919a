// onReport is "called once each linger's descriptor is closed" (docs/lingering.md, LingeringCloseOptions
// in src/lingering/types.ts), for every end: those the native lingerer decides, and those decided in
// JavaScript before any hand-over (a full pool: 'overload'; a half-closed socket's idle timeout).
// The latter called it from inside the close, before Node closed the descriptor: the listener saw
// the socket's handle still open.
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';

const { enableLingeringClose } = sockclose;
type EnableOptions = NonNullable<Parameters<typeof enableLingeringClose>[1]>;
type Seen = { reason: string; handleOpen: boolean; destroyed: boolean };

const cleanups = cleanupsAfterEach();

/**
 * A server that answers "hello" and ends the connection as `close` says, under lingering close
 * with `options`; resolves with what onReport saw of the first report's socket when it ran.
 */
async function serverReporting(options: EnableOptions, close: (socket: net.Socket) => void) {
  let seen: (value: Seen) => void = () => {};
  const report = new Promise<Seen>((resolve) => (seen = resolve));
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    socket.write('hello');
    close(socket);
  });
  const control = enableLingeringClose(server, {
    ...options,
    onReport: (lingerReport, socket) => {
      const internals = socket as net.Socket & { _handle: unknown };
      seen({ reason: lingerReport.reason, handleOpen: internals._handle !== null, destroyed: socket.destroyed });
    },
  });
  await listen(server);
  cleanups.add(() => closeServer(server), control);
  return { port: portOf(server), report };
}

/** A client that stays silent and open (no FIN of its own) until the test ends. */
async function silentClient(port: number): Promise<net.Socket> {
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  client.on('error', () => {});
  client.resume();
  cleanups.add(() => void client.destroy());
  await within(nextEvent(client, 'connect'), 5000, 'the client to connect');
  return client;
}

describe('onReport runs once the descriptor is closed', () => {
  it("a full pool's 'overload' close: the handle is already closed when onReport runs", async () => {
    const { port, report } = await serverReporting({ maxLingering: 0 }, (socket) => socket.destroySoon());
    await silentClient(port);
    const seen = await within(report, 5000, 'the overload report');
    expect(seen).toEqual({ reason: 'overload', handleOpen: false, destroyed: true });
  });

  it('a half-closed socket ended by its idle timeout in JavaScript: the handle is already closed', async () => {
    const { port, report } = await serverReporting({ idleTimeout: 200 }, (socket) => socket.end());
    await silentClient(port);
    const seen = await within(report, 5000, 'the idle-timeout report');
    expect(seen).toEqual({ reason: 'idle-timeout', handleOpen: false, destroyed: true });
  });

  it('a linger the native lingerer ends: the same', async () => {
    const { port, report } = await serverReporting({ idleTimeout: 200 }, (socket) => socket.destroySoon());
    await silentClient(port);
    const seen = await within(report, 5000, 'the native idle-timeout report');
    expect(seen).toEqual({ reason: 'idle-timeout', handleOpen: false, destroyed: true });
  });
});
