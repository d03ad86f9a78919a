// Sockets as http, https and http2 hand them out: http2's is a Proxy that refuses destroy();
// sockclose finds the real socket behind it.
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import { types } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, connectionsLeftOnServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, within } from '../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('https', () => {
  it('hardReset(req.socket) resets the connection: the client hears ECONNRESET', async () => {
    const { key, cert } = testCert();
    const server = await listen(
      https.createServer({ key, cert }, (req) => {
        expect(sockclose.inspectSocket(req.socket)).toMatchObject({ state: 'ESTABLISHED', family: 'IPv4' });
        sockclose.hardReset(req.socket);
      }),
    );
    cleanups.push(() => closeServer(server));
    const request = https.get({ port: portOf(server), host: '127.0.0.1', rejectUnauthorized: false, agent: false });
    const [error] = await nextEvent<[NodeJS.ErrnoException]>(request, 'error', 10_000);
    expect(error.code).toBe('ECONNRESET'); // Node says so for a FIN too ("socket hang up") …
    expect(connectionsLeftOnServer(server)).toBe(0); // … but a FIN close would leave FIN-WAIT/TIME-WAIT here
  });
});

describe('http2', () => {
  it("works through the session's socket proxy", async () => {
    const { key, cert } = testCert();
    const server = http2.createSecureServer({ key, cert });
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on('session', (session) => sessions.add(session));
    server.on('stream', (stream) => {
      // A Proxy over the real socket; up to Node 22 it refuses destroy() (Node 24 lets it through).
      const proxy = stream.session!.socket as net.Socket;
      expect(types.isProxy(proxy)).toBe(true);
      expect(sockclose.socketFd(proxy)).toBeGreaterThan(2);
      expect(sockclose.getLinger(proxy)).toEqual({ enabled: false, seconds: 0, emulated: false });
      sockclose.hardReset(proxy);
    });
    await listen(server);
    cleanups.push(() => {
      for (const session of sessions) session.destroy();
      return closeServer(server);
    });

    const client = http2.connect(`https://127.0.0.1:${portOf(server)}`, { rejectUnauthorized: false });
    client.on('error', () => undefined);
    const stream = client.request({ ':path': '/' });
    stream.on('error', () => undefined);
    await within(
      new Promise<void>((resolve) => client.once('close', () => resolve())),
      10_000,
      'the client session to close after the reset',
    );
    // A FIN close from the server would leave FIN-WAIT or TIME-WAIT here; an abortive one leaves none.
    expect(connectionsLeftOnServer(server)).toBe(0);
  });
});
