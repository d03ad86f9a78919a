// A net server that answers every connection with 'hello' and destroys it at once, without reading
// (paused on connect): under lingering close, each close then lingers until its peer finishes or
// a timeout. Closed after the test by the caller's cleanups.
import net from 'node:net';

import { closeServer, listen } from '../helpers/net.js';

/** Listens on an ephemeral loopback port; `cleanup` receives the server's close. */
export async function answeringServer(cleanup: (close: () => Promise<void>) => void): Promise<net.Server> {
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    socket.write('hello');
    socket.destroy();
  });
  await listen(server);
  cleanup(() => closeServer(server));
  return server;
}
