// A listening socket made here and handed to a proxy as an inherited descriptor (nginx's NGINX
// environment variable, HAProxy's `bind fd@3`). The kernel queues connections on it from the
// moment it listens, so the proxy is "ready" as soon as it is spawned: no readiness polling, and a
// proxy that fails to start shows as its exit, not as a port that never opens.
import net from 'node:net';

import { listen, portOf } from '../helpers/net.js';

/** The descriptor number the proxies get it as (stdin, stdout, stderr come first). */
export const INHERITED_FD = 3;

/** A listening socket on 127.0.0.1, not yet handed over. */
export interface ListenerForChild {
  port: number;
  /** The stdio array for spawn(): the socket becomes the child's descriptor 3. */
  stdio: ['ignore', 'pipe', 'pipe', number];
  /**
   * Closes this process's copy; call it right after spawning, in the same tick (no connection can
   * be accepted here meanwhile: that takes a turn of the event loop). Throws if one was.
   */
  handedOver(): void;
}

/** Opens the socket. */
export async function listenerForChild(): Promise<ListenerForChild> {
  const server = await listen(net.createServer({ pauseOnConnect: true }));
  let acceptedHere = 0;
  server.on('connection', (socket: net.Socket) => {
    acceptedHere += 1;
    socket.destroy();
  });
  // Node has no public accessor for a server's descriptor; spawn() needs the number (it cannot
  // take a net.Server as a stdio stream).
  const fd = (server as net.Server & { _handle: { fd: number } })._handle.fd;
  return {
    port: portOf(server),
    stdio: ['ignore', 'pipe', 'pipe', fd],
    handedOver: () => {
      server.close();
      if (acceptedHere > 0) throw new Error(`the test process accepted ${acceptedHere} connection(s) meant for the proxy`);
    },
  };
}
