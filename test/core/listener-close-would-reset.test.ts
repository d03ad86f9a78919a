// closeWouldReset() of a listening socket: closing a listener fails every connection waiting in its
// accept queue (handshake done, not yet accepted). Linux sends each of them RST
// (inet_csk_listen_stop() disconnects the queued children); an AF_UNIX listener makes each
// client's next read fail with ECONNRESET (unix_release_sock() on the embryos). So the verdict is
// true while that queue holds a connection, false when it is empty.
//
// The queue is made real: a net.Server in a worker thread listens, then holds its thread (and so
// its event loop: libuv accepts only when the loop polls the listener) while this thread's clients
// connect. Their handshakes complete in the kernel and wait in the queue; the listening descriptor
// is the process's, asked about from here. Then the worker closes the server in the same tick it
// is released, before its loop can accept anything, and the clients must get ECONNRESET: the
// premise, proved on this kernel.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { connectClients, endings } from '../helpers/queued-clients.js';
import { nextEvent, within } from '../helpers/wait.js';

const { closeWouldReset, inspectSocket } = sockclose;
const require = createRequire(import.meta.url);
const lib = path.join(root, 'lib');
const { Revents } = require(path.join(lib, 'native', 'layout.js')) as typeof import('../../lib/native/layout.js');
const { linux } = require(path.join(lib, 'platform', 'linux.js')) as typeof import('../../lib/platform/linux.js');
const { bsd } = require(path.join(lib, 'platform', 'bsd.js')) as typeof import('../../lib/platform/bsd.js');
const { aix } = require(path.join(lib, 'platform', 'aix.js')) as typeof import('../../lib/platform/aix.js');
const { windows } = require(path.join(lib, 'platform', 'windows.js')) as typeof import('../../lib/platform/windows.js');

const CLIENTS = 3;
const BACKLOG = 8;
// How long the worker holds its loop at most: past every wait below, so that a hold that ends by
// itself (the test failed to release it) is reported as such rather than passing unnoticed.
const HOLD_MS = 20_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Runs in the worker (CommonJS, eval'd). Posts {fd, port} once listening, {accepted} if its loop ever
// accepted a connection (it must not), then {closed} with Atomics.wait()'s answer: 'ok' when this
// thread released it, 'not-equal' when the release came first (the worker thread had not reached
// the wait yet: its loop did not run meanwhile either), 'timed-out' when nothing released it.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const gate = new Int32Array(workerData.gate);
const server = net.createServer((socket) => {
  parentPort.postMessage({ accepted: true });
  socket.destroy();
});
server.listen({ ...workerData.where, backlog: workerData.backlog }, () => {
  const address = server.address();
  parentPort.postMessage({ fd: server._handle.fd, port: typeof address === 'object' ? address.port : -1 });
  const held = Atomics.wait(gate, 0, 0, workerData.holdMs);
  server.close();
  parentPort.postMessage({ closed: held });
});
`;

interface Held {
  fd: number;
  /** Its TCP port (-1 for AF_UNIX). */
  port: number;
  /**
   * Releases the worker, which closes the listener at once, its loop having run not once since it
   * started listening: rejects if the hold had run out instead.
   */
  release(): Promise<void>;
  /** Whether the worker's loop accepted a connection (it must never). */
  accepted(): boolean;
}

/** A listener whose accepting is held (see the file's comment), at `where` (port 0 or a path). */
async function heldListener(where: net.ListenOptions): Promise<Held> {
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, { eval: true, workerData: { gate: gate.buffer, where, backlog: BACKLOG, holdMs: HOLD_MS } });
  let accepted = false;
  let released = false;
  let closed!: (held: string) => void;
  const closedMessage = new Promise<string>((resolve) => (closed = resolve));
  const listening = within(
    new Promise<{ fd: number; port: number }>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', (message: { fd?: number; port?: number; accepted?: boolean; closed?: string }) => {
        if (message.fd !== undefined) resolve({ fd: message.fd, port: message.port! });
        if (message.accepted) accepted = true;
        if (message.closed !== undefined) closed(message.closed);
      });
    }),
    5000,
    "the worker's listener",
  );
  const release = () => {
    released = true;
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    return within(closedMessage, 5000, 'the worker closing its listener').then((held) => {
      if (held === 'timed-out') throw new Error(`the worker's hold ran out (${HOLD_MS} ms) before the test released it`);
    });
  };
  cleanups.push(async () => {
    if (!released) await release().catch(() => undefined);
    await worker.terminate();
  });
  return { ...(await listening), release, accepted: () => accepted };
}

describe('closeWouldReset() of a listening descriptor', () => {
  // The same steps over each transport: what a close of the listener does to its queued clients.
  const transports = [
    {
      name: 'TCP: true while completed connections wait in the accept queue; the close then resets each of them',
      address: async () => ({ port: 0, host: '127.0.0.1' }),
    },
    {
      name: 'AF_UNIX: true while connections wait; the close then fails each client’s read with ECONNRESET',
      address: async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-listener-'));
        cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
        return { path: path.join(dir, 'listener.sock') };
      },
    },
  ];
  for (const { name, address } of transports) {
    it(name, async () => {
      const listenOn = await address();
      const held = await heldListener(listenOn);
      // Nothing queued yet.
      expect(closeWouldReset(held.fd)).toBe(false);

      const clients = await connectClients(CLIENTS, 'path' in listenOn ? { path: listenOn.path } : { port: held.port, host: '127.0.0.1' }, cleanups);
      const ended = endings(clients, 'the listener closed');
      expect(inspectSocket(held.fd).state).toBe('LISTEN');
      expect(closeWouldReset(held.fd)).toBe(true);
      expect(inspectSocket(held.fd).closeWouldReset).toBe(true);

      await held.release();
      expect(held.accepted()).toBe(false);
      expect(await ended).toEqual(Array(CLIENTS).fill('ECONNRESET'));
    });
  }

  it('false for an idle listener, and for one whose connections were all accepted', async () => {
    const server = await listen(net.createServer());
    cleanups.push(() => closeServer(server));
    const fd = (server as net.Server & { _handle: { fd: number } })._handle.fd;
    expect(closeWouldReset(fd)).toBe(false);
    expect(inspectSocket(fd).closeWouldReset).toBe(false);

    const accepted = nextEvent<[net.Socket]>(server, 'connection');
    const [client] = await connectClients(1, { port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' }, cleanups);
    const [socket] = await accepted;
    cleanups.push(() => void socket.destroy());
    expect(client).toBeDefined();
    expect(closeWouldReset(fd)).toBe(false);
    expect(inspectSocket(fd).closeWouldReset).toBe(false);
  });
});

describe("each platform's rule for a listener (from poll()'s events)", () => {
  const readable = Revents.in;
  it('Linux and AIX: readable (a connection queued) on either transport; not readable, or unknown: false', () => {
    for (const rule of [linux, aix('aix'), aix('os400')]) {
      for (const transport of ['tcp', 'unix'] as const) {
        expect(rule.listeningCloseWouldReset(readable, transport), `${rule.name} ${transport}`).toBe(true);
        expect(rule.listeningCloseWouldReset(Revents.out, transport), `${rule.name} ${transport}`).toBe(false);
        expect(rule.listeningCloseWouldReset(0, transport), `${rule.name} ${transport}`).toBe(false);
        expect(rule.listeningCloseWouldReset(-1, transport), `${rule.name} ${transport}`).toBe(false);
      }
    }
  });

  it('macOS and the BSDs: TCP only (their AF_UNIX clients read EOF); Windows: never asked, false', () => {
    for (const name of ['darwin', 'freebsd', 'netbsd', 'openbsd', 'dragonfly'] as const) {
      expect(bsd(name).listeningCloseWouldReset(readable, 'tcp'), name).toBe(true);
      expect(bsd(name).listeningCloseWouldReset(readable, 'unix'), name).toBe(false);
      expect(bsd(name).listeningCloseWouldReset(0, 'tcp'), name).toBe(false);
      expect(bsd(name).listeningCloseWouldReset(-1, 'tcp'), name).toBe(false);
    }
    expect(windows.listeningCloseWouldReset(readable, 'tcp')).toBe(false);
  });
});
