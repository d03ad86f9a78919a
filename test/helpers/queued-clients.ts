// Clients of a listener whose loop is held (test/core/*close-would-reset*): connected by the
// kernel (handshake done, 'connect' seen) while nothing accepts them, then watched for how the
// listener's close ends each.
import net from 'node:net';

import { nextEvent, within } from './wait.js';

/**
 * Connects `count` clients and resolves once each has its 'connect' event (the handshake done);
 * each is destroyed by a cleanup pushed onto `cleanups`.
 */
export async function connectClients(count: number, options: net.NetConnectOpts, cleanups: (() => unknown)[]): Promise<net.Socket[]> {
  const clients = Array.from({ length: count }, () => net.connect(options));
  for (const client of clients) cleanups.push(() => void client.destroy());
  await Promise.all(clients.map((client) => nextEvent(client, 'connect')));
  return clients;
}

/**
 * The error code each client ends with (undefined for a clean end; they read all along, as Node
 * sockets do), within 5 s of the call (`after` names what should have ended them).
 */
export function endings(clients: net.Socket[], after: string): Promise<(string | undefined)[]> {
  return within(
    Promise.all(
      clients.map(
        (client) =>
          new Promise<string | undefined>((resolve) => {
            let code: string | undefined;
            client.on('error', (error: NodeJS.ErrnoException) => (code = error.code));
            client.on('close', () => resolve(code));
          }),
      ),
    ),
    5000,
    `the clients' 'close' after ${after}`,
  );
}
