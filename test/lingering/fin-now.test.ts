// Our FIN in destroySoon() (src/lingering/fin-now.ts): http's close after a `Connection: close`
// response, on a lingering server, sends the FIN in the end() call itself instead of through
// Node's shutdown request (a ShutdownWrap, seen here by async_hooks). What must hold:
// - Node makes no shutdown request there, and each client still gets the whole response, then
//   our FIN; the socket still emits 'finish'; each linger ends 'eof';
// - everywhere else Node's own shutdown runs, as before: a plain server (which also shows the
//   count sees Node's requests), mode 'as-needed', TLS (close_notify first), AF_UNIX over Node's
//   own end() outside destroySoon().
import { createHook } from 'node:async_hooks';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, tempDir } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, within } from '../helpers/wait.js';
import { lingeringHttp } from './http-server.js';
import { cleanupsAfterEach } from './lifecycle.js';

const cleanups = cleanupsAfterEach();
const REQUESTS = 10;
const BODY = 'x'.repeat(3000);

/**
 * Runs `work` while counting Node's shutdown requests (async resources of type SHUTDOWNWRAP): the
 * count, and what `work` gave.
 */
async function countingShutdowns<T>(work: () => Promise<T>): Promise<{ shutdowns: number; result: T }> {
  let shutdowns = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'SHUTDOWNWRAP') shutdowns += 1;
    },
  });
  hook.enable();
  try {
    const result = await work();
    return { shutdowns, result };
  } finally {
    hook.disable();
  }
}

/**
 * One `Connection: close` GET over a fresh connection: the bytes the client got, up to our FIN.
 * `connect` makes a half-open client (allowHalfOpen), closed once our FIN is in: Node's end() of
 * its own would make a shutdown request of its own, in this process.
 */
function getOnce(connect: () => net.Socket): Promise<string> {
  const client = connect();
  cleanups.add(() => void client.destroy());
  let seen = '';
  client.setEncoding('latin1');
  client.on('data', (chunk: string) => (seen += chunk));
  client.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  // 'end' is our FIN: every byte before it was read.
  return within(
    new Promise<string>((resolve, reject) => {
      client.once('end', () => {
        client.destroy();
        resolve(seen);
      });
      client.once('error', reject);
    }),
    10_000,
    'the response and our FIN',
  );
}

function expectWhole(response: string): void {
  expect(response).toMatch(/^HTTP\/1\.1 200 /);
  expect(response.endsWith(`\r\n\r\n${BODY}`)).toBe(true);
}

/** A half-open client (see getOnce()) to 127.0.0.1:`port`. */
const halfOpenClient = (port: number) => () => net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });

const answer = (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(200, { 'Content-Length': BODY.length });
  res.end(BODY);
};

/** `server` answering REQUESTS connections one after another; its sockets' 'finish' events counted. */
async function serveAll(server: http.Server, connect: () => net.Socket): Promise<{ finishes: number }> {
  let finishes = 0;
  server.on('connection', (socket: net.Socket) => socket.once('finish', () => (finishes += 1)));
  for (let i = 0; i < REQUESTS; i++) expectWhole(await getOnce(connect));
  return { finishes };
}

describe.skipIf(process.platform === 'win32')("destroySoon() on a lingering server: our FIN without Node's shutdown request", () => {
  it('http, Connection: close: no shutdown request, each response whole before our FIN, \'finish\' emitted, each linger "eof"', async () => {
    const started = await lingeringHttp(http.createServer(), answer);
    cleanups.add(() => closeServer(started.server), started.disable);
    const { shutdowns, result } = await countingShutdowns(() => serveAll(started.server, halfOpenClient(started.port)));
    expect(shutdowns).toBe(0);
    expect(result.finishes).toBe(REQUESTS);
    for (let i = 0; i < REQUESTS; i++) expect((await started.nextReport()).reason).toBe('eof');
  });

  it('http over AF_UNIX: the same', async () => {
    const dir = tempDir();
    cleanups.add(() => fs.rmSync(dir, { recursive: true, force: true }));
    const socketPath = path.join(dir, 'http.sock');
    const server = http.createServer(answer);
    const control = sockclose.enableLingeringClose(server);
    await listen(server, { path: socketPath });
    cleanups.add(() => closeServer(server), control);
    const { shutdowns } = await countingShutdowns(() => serveAll(server, () => net.connect({ path: socketPath, allowHalfOpen: true })));
    expect(shutdowns).toBe(0);
    await within(control.drained(), 10_000, 'every linger to end');
    expect(control.stats().reasons.eof).toBe(REQUESTS);
  });

  it("a plain server, mode 'as-needed', https: Node's own shutdown request for every connection", async () => {
    const plain = http.createServer(answer);
    await listen(plain);
    cleanups.add(() => closeServer(plain));
    const asNeeded = await lingeringHttp(http.createServer(), answer, { mode: 'as-needed' });
    cleanups.add(() => closeServer(asNeeded.server), asNeeded.disable);
    const { key, cert } = testCert();
    const secure = await lingeringHttp(https.createServer({ key, cert }), answer);
    cleanups.add(() => closeServer(secure.server), secure.disable);
    const tlsConnect = () => tls.connect({ port: secure.port, host: '127.0.0.1', rejectUnauthorized: false, allowHalfOpen: true });

    expect((await countingShutdowns(() => serveAll(plain, halfOpenClient(portOf(plain))))).shutdowns).toBe(REQUESTS);
    expect((await countingShutdowns(() => serveAll(asNeeded.server, halfOpenClient(asNeeded.port)))).shutdowns).toBe(REQUESTS);
    // TLS: at least one per connection (its transport's, behind close_notify).
    expect((await countingShutdowns(() => serveAll(secure.server, tlsConnect))).shutdowns).toBeGreaterThanOrEqual(REQUESTS);
  });

  it("the application's own end() (not destroySoon()): Node's shutdown request, and the FIN after it", async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.end('bye');
    });
    const control = sockclose.enableLingeringClose(server);
    await listen(server);
    cleanups.add(() => closeServer(server), control);
    const { shutdowns } = await countingShutdowns(async () => {
      const client = halfOpenClient(portOf(server))();
      cleanups.add(() => void client.destroy());
      let seen = '';
      client.setEncoding('latin1').on('data', (chunk: string) => (seen += chunk));
      await nextEvent(client, 'end', 10_000);
      expect(seen).toBe('bye');
      client.destroy();
      await within(control.drained(), 10_000, 'the linger to end');
    });
    expect(shutdowns).toBe(1);
  });
});
