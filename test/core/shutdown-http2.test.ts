// shutdownWrite() on the socket of a live http2 session (or its `session.socket` proxy): nghttp2
// writes its frames straight to the handle, so Node's end() does not wait for them. A FIN sent
// under the session loses what the session still queues (the response just written), as it did
// for lingeringClose(). It is refused (ERR_INVALID_ARG_VALUE, a rejection) and nothing is closed.
import http2 from 'node:http2';

import { afterEach, describe, expect, it } from 'vitest';

import { http2Get } from '../helpers/http2.js';
import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { until } from '../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each([
  ['h2 (TLS)', true],
  ['h2c', false],
])('shutdownWrite() on a live http2 session\'s socket, %s', (_name, secure) => {
  it('rejects ERR_INVALID_ARG_VALUE and closes nothing: the response just written still arrives', async () => {
    const { key, cert } = testCert();
    const server = secure ? http2.createSecureServer({ key, cert }) : http2.createServer();
    const outcomes: unknown[] = [];
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      stream.end('the whole body');
      // Before: the session's socket was end()ed under it, its HEADERS and DATA never sent, and
      // the promise resolved; the client saw no response at all.
      sockclose.shutdownWrite(stream.session!.socket).then(
        () => outcomes.push('resolved'),
        (error: NodeJS.ErrnoException) => outcomes.push(error.code),
      );
    });
    server.on('session', (session) => cleanups.push(() => void session.destroy()));
    await listen(server);
    cleanups.push(() => closeServer(server));
    const client = http2.connect(`${secure ? 'https' : 'http'}://127.0.0.1:${portOf(server)}`, { rejectUnauthorized: false });
    client.on('error', () => undefined);
    cleanups.push(() => void client.destroy());
    expect(await http2Get(client)).toEqual({ status: 200, body: 'the whole body' });
    await until(() => outcomes.length === 1, 5000, 'the shutdownWrite() outcome');
    expect(outcomes).toEqual(['ERR_INVALID_ARG_VALUE']);
    // The session is still usable: a second request on the same connection is answered.
    expect((await http2Get(client)).body).toBe('the whole body');
  });
});
