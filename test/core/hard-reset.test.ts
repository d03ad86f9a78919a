// hardReset(): RST to the peer, no TIME_WAIT here, on every kind of socket Node's own
// resetAndDestroy() refuses. Peers are kernel-level (Python) wherever the question is "what did
// the wire carry", because libuv reports many resets as a clean EOF.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import { kernelClient } from '../helpers/kernel-client.js';
import { kernelServer } from '../helpers/kernel-server.js';
import { closeServer, connectionsLeftOnServer, listen, portOf, tempDir, timeWaitBetween, timeWaitOnServer } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { testCert, testCertFiles } from '../helpers/tls.js';
import { nextEvent, until, within } from '../helpers/wait.js';

const { hardReset } = sockclose;
const servers: net.Server[] = [];
const removals: string[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
  for (const dir of removals.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function server<S extends net.Server>(created: S): Promise<S> {
  servers.push(created);
  return listen(created);
}

describe('hardReset on the server side', () => {
  it('sends RST from a plain TCP socket: the peer sees ECONNRESET, and no TIME_WAIT stays here', async () => {
    const listener = await server(
      net.createServer((socket) => {
        // Act once the peer's byte arrives: its connect() has returned by then.
        socket.once('data', () => socket.write('hello', () => hardReset(socket)));
      }),
    );
    const seen = await kernelClient({ port: portOf(listener), send: 1 });
    expect(seen).toMatchObject({ received: 5, end: 'ECONNRESET' });
    expect(connectionsLeftOnServer(listener)).toBe(0);
  });

  it("resets a server-side TLS socket, where Node's resetAndDestroy() throws", async () => {
    const { key, cert } = testCert();
    const closes: Promise<unknown>[] = [];
    const listener = await server(
      tls.createServer({ key, cert }, (socket) => {
        expect(() => socket.resetAndDestroy()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_HANDLE_TYPE' }));
        closes.push(nextEvent(socket, 'close'));
        socket.write('hello', () => hardReset(socket));
      }),
    );
    const seen = await kernelClient({ port: portOf(listener), tls: true });
    expect(seen.received).toBe(5);
    expect(seen.end).toBe('ECONNRESET');
    await Promise.all(closes); // 'close' is emitted as for any destroy()
    expect(connectionsLeftOnServer(listener)).toBe(0);
  });

  it('resets a socket that already called end(), which Node\'s resetAndDestroy() refuses while the shutdown is pending', async () => {
    const listener = await server(
      net.createServer((socket) => {
        socket.once('data', () => {
          socket.end('bye');
          hardReset(socket); // the shutdown is still pending here: libuv would say EINVAL
        });
      }),
    );
    const seen = await kernelClient({ port: portOf(listener), send: 1, sendAfterEnd: 1024 });
    // Either the RST overtook the FIN (recv fails ECONNRESET), or the FIN got out first and the
    // RST landed in the peer's CLOSE_WAIT, where only send() learns of it (EPIPE). Never a clean end.
    expect(seen.end === 'ECONNRESET' || seen.sendError === 'EPIPE').toBe(true);
    expect(seen.received).toBeLessThanOrEqual(3);
    expect(connectionsLeftOnServer(listener)).toBe(0);
  });

  it('resets a socket whose end() already completed: the FIN came first, so the peer learns on send()', async () => {
    const listener = await server(
      net.createServer((socket) => {
        socket.once('data', () => socket.end('bye', () => hardReset(socket)));
      }),
    );
    const seen = await kernelClient({ port: portOf(listener), send: 1, sendAfterEnd: 1024 });
    expect(seen).toMatchObject({ received: 3, end: 'eof', sendError: 'EPIPE' });
    expect(connectionsLeftOnServer(listener)).toBe(0);
  });

  it('resets a raw descriptor: the one case where sockclose closes a descriptor itself', async () => {
    // The descriptor must belong to no Node handle: hand the accepted socket to a child process
    // as its fd 3, and let the parent drop its own copy first (that sends nothing: the child
    // still holds the connection).
    const lib = path.join(root, 'lib', 'index.js');
    const children: Promise<unknown>[] = [];
    const listener = await server(
      net.createServer((socket) => {
        // Read the peer's byte first: with input left unread any close would send RST, and the
        // test could not tell hardReset's doing from the kernel's.
        socket.once('data', () => {
          socket.pause();
          const child = spawn(
            process.execPath,
            ['-e', `const s = require(${JSON.stringify(lib)}); s.hardReset(3); try { require('node:fs').fstatSync(3); console.log('open') } catch (e) { console.log(e.code) }`],
            { stdio: ['ignore', 'pipe', 'inherit', socket] },
          );
          socket.destroy();
          let out = '';
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
          children.push(
            nextEvent<[number]>(child, 'exit', 10_000).then(([code]) => {
              expect(code).toBe(0);
              expect(out.trim()).toBe('EBADF'); // fd 3 was closed by hardReset
            }),
          );
        });
      }),
    );
    const seen = await kernelClient({ port: portOf(listener), send: 1 });
    expect(seen.end).toBe('ECONNRESET');
    await Promise.all(children);
    expect(connectionsLeftOnServer(listener)).toBe(0);
  });
});

describe('hardReset on the client side', () => {
  it("resets a client-side TLS socket, where Node's resetAndDestroy() throws", async () => {
    // The Python peer reads the PEM files when the connection arrives: removed after the test.
    const files = tempDir('sockclose-tls-');
    removals.push(files);
    const { keyFile, certFile } = testCertFiles(files);
    const peer = await kernelServer({ tls: { cert: certFile, key: keyFile }, send: 5 });
    try {
      const client = tls.connect({ port: peer.port, host: '127.0.0.1', rejectUnauthorized: false });
      await nextEvent(client, 'secureConnect');
      await nextEvent(client, 'data');
      expect(() => client.resetAndDestroy()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_HANDLE_TYPE' }));
      const localPort = client.localPort!;
      const closed = nextEvent(client, 'close');
      hardReset(client);
      await closed;
      expect(await peer.result).toMatchObject({ end: 'ECONNRESET' });
      expect(timeWaitBetween(localPort, peer.port)).toBe(0);
    } finally {
      peer.kill();
    }
  });

  it('refuses an AF_UNIX socket still connecting at once, as a connected one (later, nobody could catch it)', async () => {
    const dir = tempDir();
    removals.push(dir);
    const listener = await listen(net.createServer((socket) => socket.on('error', () => {})), { path: path.join(dir, 's') });
    servers.push(listener);
    const client = net.connect(path.join(dir, 's'));
    expect(client.connecting).toBe(true);
    expect(() => hardReset(client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NOT_TCP' }));
    await nextEvent(client, 'connect');
    client.destroy();
    await nextEvent(client, 'close');
  });

  it('resets a socket still connecting once it connects (it has no descriptor yet when called)', async () => {
    const peer = await kernelServer();
    try {
      const client = net.connect(peer.port, 'localhost'); // DNS first: no fd at this tick
      expect(client.connecting).toBe(true);
      expect(() => sockclose.socketFd(client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NO_FD' }));
      hardReset(client);
      await nextEvent(client, 'connect');
      await nextEvent(client, 'close');
      // The peer accepted a connection, which then ended in RST.
      expect(await peer.result).toMatchObject({ received: 0, end: 'ECONNRESET' });
    } finally {
      peer.kill();
    }
  });
});

describe('TIME_WAIT', () => {
  const CONNECTIONS = 40;

  async function churn(listener: net.Server): Promise<void> {
    const port = portOf(listener);
    const closes: Promise<unknown>[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => undefined); // resets are the point here
      client.resume();
      closes.push(nextEvent(client, 'close', 10_000, 'ignore'));
    }
    await within(Promise.all(closes), 20_000, `${CONNECTIONS} clients to close`);
  }

  it('leaves none after many hard resets, where a FIN close from the server leaves one per connection', async () => {
    const finClose = await server(net.createServer((socket) => socket.end()));
    await churn(finClose);
    // The server closed first, so each connection's TIME_WAIT is on the server's side.
    await until(() => timeWaitOnServer(finClose) === CONNECTIONS, 10_000, `${CONNECTIONS} TIME-WAIT sockets on the FIN-closing server`);

    const resetting = await server(net.createServer((socket) => hardReset(socket)));
    await churn(resetting);
    expect(connectionsLeftOnServer(resetting)).toBe(0);
  });
});
