// http2's `session.socket` is a Proxy whose every read (its prototype included, so even
// `instanceof`) throws Node's ERR_HTTP2_SOCKET_UNBOUND once the session has closed. sockclose must
// say what it says for any closed socket (ERR_SOCKCLOSE_CLOSED), not let Node's error through.
import http2 from 'node:http2';
import type net from 'node:net';
import { types } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent } from '../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A client and server session over h2 (TLS) or h2c, with one request answered; both proxies. */
async function sessions(secure: boolean) {
  const { key, cert } = testCert();
  const server = secure ? http2.createSecureServer({ key, cert }) : http2.createServer();
  const serverSessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => serverSessions.add(session));
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await listen(server);
  cleanups.push(() => {
    for (const session of serverSessions) session.destroy();
    return closeServer(server);
  });
  const client = http2.connect(`${secure ? 'https' : 'http'}://127.0.0.1:${portOf(server)}`, { rejectUnauthorized: false });
  client.on('error', () => undefined);
  cleanups.push(() => void client.destroy());
  const request = client.request({ ':path': '/' });
  request.resume();
  await nextEvent(request, 'end');
  const [serverSession] = serverSessions;
  return { client, serverSession: serverSession!, clientProxy: client.socket as net.Socket, serverProxy: serverSession!.socket as net.Socket };
}

const SYNC = ['socketFd', 'getLinger', 'peekSocketError', 'takeSocketError', 'inspectSocket', 'closeWouldReset', 'hardReset'] as const;

/** The error a call throws (or, for shutdownWrite and setLinger, rejects/throws with). */
async function errorOf(call: () => unknown): Promise<{ code?: string; name?: string } | undefined> {
  try {
    await call();
  } catch (error) {
    return error as { code?: string };
  }
  return undefined;
}

describe.each([
  ['h2 (TLS)', true],
  ['h2c', false],
])("http2 %s: session.socket after the session closed", (_name, secure) => {
  it('every function says ERR_SOCKCLOSE_CLOSED, on both sides', async () => {
    const { client, serverSession, clientProxy, serverProxy } = await sessions(secure);
    expect(types.isProxy(clientProxy) && types.isProxy(serverProxy)).toBe(true);
    const closed = Promise.all([nextEvent(client, 'close'), nextEvent(serverSession, 'close')]);
    client.close();
    await closed;
    for (const proxy of [clientProxy, serverProxy]) {
      for (const name of SYNC) {
        const error = await errorOf(() => (sockclose[name] as (target: net.Socket) => unknown)(proxy));
        expect({ name, code: error?.code }).toEqual({ name, code: 'ERR_SOCKCLOSE_CLOSED' });
      }
      expect((await errorOf(() => sockclose.setLinger(proxy, 0)))?.code).toBe('ERR_SOCKCLOSE_CLOSED');
      expect((await errorOf(() => sockclose.setLinger(proxy, 5)))?.code).toBe('ERR_SOCKCLOSE_CLOSED');
      // A promise that rejects, never a synchronous throw.
      let promise: Promise<void> | undefined;
      expect(() => (promise = sockclose.shutdownWrite(proxy))).not.toThrow();
      await expect(promise).rejects.toMatchObject({ code: 'ERR_SOCKCLOSE_CLOSED' });
      await expect(sockclose.lingeringClose(proxy)).rejects.toMatchObject({ code: 'ERR_SOCKCLOSE_CLOSED' });
    }
  });

  it('arguments are still checked first, as for any closed socket', async () => {
    const { client, clientProxy } = await sessions(secure);
    const closed = nextEvent(client, 'close');
    client.close();
    await closed;
    expect((await errorOf(() => sockclose.setLinger(clientProxy, 1.5)))?.code).toBe('ERR_OUT_OF_RANGE');
  });
});
