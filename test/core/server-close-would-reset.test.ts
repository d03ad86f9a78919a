// closeWouldReset() of a net.Server: the verdict of its listening descriptor (see
// listener-close-would-reset.test.ts): true while connections wait in its accept queue, which
// server.close() fails (Linux: RST to each TCP client; ECONNRESET on each AF_UNIX client's next read).
//
// The queue is made real, and the server object's own thread asks: a worker thread creates the
// server, listens, and holds its thread (so its event loop, which alone accepts) on a shared
// Int32Array while this thread's clients connect. Their 'connect' events say the kernel completed
// the handshakes; the connections now wait in the queue. This thread then releases the worker,
// which asks closeWouldReset(server), closes the server in the same tick (its loop has not run
// since it listened, so nothing was accepted) and asks again; the clients must get ECONNRESET:
// the premise, proved on this kernel.
//
// A server that holds no listening socket of its own throws ERR_SOCKCLOSE_NO_FD rather than answer
// false: one not listening (never, not yet, closed), and a cluster worker's (the primary holds the
// listener), run here in a real cluster under both scheduling policies.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Worker } from 'node:worker_threads';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { runNode } from '../helpers/run-node.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { connectClients, endings } from '../helpers/queued-clients.js';
import { nextEvent, within } from '../helpers/wait.js';

const { closeWouldReset, ErrorCodes } = sockclose;

const CLIENTS = 3;
const BACKLOG = 8;
// How long the worker holds its thread at most: past every wait below, so that a hold that ends by
// itself (the test failed to release it) is reported as such rather than passing unnoticed.
const HOLD_MS = 20_000;
const NOT_LISTENING = /^closeWouldReset\(\): the server holds no listening socket \(not listening: /;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempPath(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-server-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'server.sock');
}

/** What closeWouldReset(server) gave: its verdict, or the code and message it threw. */
type Answer = { verdict: boolean } | { code: string; message: string };

// Runs in the worker (CommonJS, eval'd). Posts {listening} once listening, with the answer for the
// empty queue; {accepted} if its loop ever accepted a connection (it must not); then, once released,
// {held} (Atomics.wait()'s answer: 'ok' when this thread released it, 'not-equal' when the release
// came first, 'timed-out' when nothing released it) with the answers before and after close().
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { closeWouldReset } = require(workerData.lib);
const gate = new Int32Array(workerData.gate);
const ask = () => {
  try {
    return { verdict: closeWouldReset(server) };
  } catch (error) {
    return { code: error.code, message: error.message };
  }
};
const onConnection = (socket) => {
  parentPort.postMessage({ accepted: true });
  socket.destroy();
};
const server = workerData.kind === 'http' ? require('node:http').createServer() : require('node:net').createServer();
server.on('connection', onConnection);
server.listen({ ...workerData.where, backlog: workerData.backlog }, () => {
  const address = server.address();
  parentPort.postMessage({ listening: true, port: typeof address === 'object' ? address.port : -1, empty: ask() });
  const held = Atomics.wait(gate, 0, 0, workerData.holdMs);
  const queued = ask();
  server.close();
  parentPort.postMessage({ held, queued, closed: ask() });
});
`;

interface Released {
  /** closeWouldReset(server) with the clients' connections queued. */
  queued: Answer;
  /** closeWouldReset(server) right after server.close(). */
  closed: Answer;
}

interface HeldServer {
  /** Its TCP port (-1 on a path). */
  port: number;
  /** closeWouldReset(server) in the worker as it started listening, nothing connected. */
  empty: Answer;
  /** Releases the worker, which asks, closes the server and asks again; rejects if the hold ran out instead. */
  release(): Promise<Released>;
  /** Whether the worker's loop accepted a connection (it must never). */
  accepted(): boolean;
}

/** A server of `kind` in a worker whose thread is held once it listens at `where` (see the file's comment). */
async function heldServer(kind: 'net' | 'http', where: net.ListenOptions): Promise<HeldServer> {
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const lib = path.join(root, 'lib', 'index.js');
  const worker = new Worker(WORKER, { eval: true, workerData: { gate: gate.buffer, kind, where, lib, backlog: BACKLOG, holdMs: HOLD_MS } });
  let accepted = false;
  let released = false;
  let done!: (message: Released & { held: string }) => void;
  const doneMessage = new Promise<Released & { held: string }>((resolve) => (done = resolve));
  const listening = within(
    new Promise<{ port: number; empty: Answer }>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', (message: { listening?: true; port?: number; empty?: Answer; accepted?: true; held?: string } & Partial<Released>) => {
        if (message.listening) resolve({ port: message.port!, empty: message.empty! });
        if (message.accepted) accepted = true;
        if (message.held !== undefined) done(message as Released & { held: string });
      });
    }),
    5000,
    "the worker's server listening",
  );
  const release = () => {
    released = true;
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    return within(doneMessage, 5000, 'the worker asking and closing its server').then(({ held, queued, closed }) => {
      if (held === 'timed-out') throw new Error(`the worker's hold ran out (${HOLD_MS} ms) before the test released it`);
      return { queued, closed };
    });
  };
  cleanups.push(async () => {
    if (!released) await release().catch(() => undefined);
    await worker.terminate();
  });
  return { ...(await listening), release, accepted: () => accepted };
}

describe('closeWouldReset() of a listening net.Server, asked on its own thread', () => {
  const cases = [
    { name: 'net.Server over TCP', kind: 'net' as const, where: () => ({ port: 0, host: '127.0.0.1' }) },
    { name: 'net.Server on an AF_UNIX path', kind: 'net' as const, where: () => ({ path: tempPath() }) },
    { name: 'http.Server over TCP', kind: 'http' as const, where: () => ({ port: 0, host: '127.0.0.1' }) },
  ];
  for (const { name, kind, where } of cases) {
    it(`${name}: false with an empty queue, true with connections queued; server.close() then fails each with ECONNRESET, and the closed server throws ERR_SOCKCLOSE_NO_FD`, async () => {
      const listenOn: net.ListenOptions = where();
      const held = await heldServer(kind, listenOn);
      expect(held.empty).toEqual({ verdict: false });

      const clients = await connectClients(CLIENTS, listenOn.path !== undefined ? { path: listenOn.path } : { port: held.port, host: '127.0.0.1' }, cleanups);
      const ended = endings(clients, 'the server closed');
      const { queued, closed } = await held.release();
      expect(queued).toEqual({ verdict: true });
      expect(closed).toEqual({ code: ErrorCodes.NO_FD, message: expect.stringMatching(NOT_LISTENING) });
      expect(held.accepted()).toBe(false);
      expect(await ended).toEqual(Array(CLIENTS).fill('ECONNRESET'));
    });
  }
});

describe('closeWouldReset() of a server on the calling thread', () => {
  it('false for an idle net, http, https and tls server, and once its connection is accepted', async () => {
    const { key, cert } = testCert();
    const servers = [net.createServer(), http.createServer(), https.createServer({ key, cert }), tls.createServer({ key, cert })];
    for (const server of servers) {
      await listen(server);
      cleanups.push(() => closeServer(server));
      expect(closeWouldReset(server), server.constructor.name).toBe(false);
    }

    const [server] = servers as [net.Server];
    const accepted = nextEvent<[net.Socket]>(server, 'connection');
    const client = net.connect(portOf(server), '127.0.0.1');
    cleanups.push(() => void client.destroy());
    const [socket] = await accepted;
    cleanups.push(() => void socket.destroy());
    expect(closeWouldReset(server)).toBe(false);
  });

  it('a server never listened, still looking up its address, or closed: ERR_SOCKCLOSE_NO_FD', async () => {
    const never = net.createServer();
    expect(() => closeWouldReset(never)).toThrow(expect.objectContaining({ code: ErrorCodes.NO_FD, message: expect.stringMatching(NOT_LISTENING) }));

    // A host name is looked up first (dns.lookup(), never synchronous): no handle until then.
    const lookingUp = net.createServer().listen(0, 'localhost');
    cleanups.push(() => closeServer(lookingUp));
    expect(() => closeWouldReset(lookingUp)).toThrow(expect.objectContaining({ code: ErrorCodes.NO_FD, message: expect.stringMatching(NOT_LISTENING) }));
    await nextEvent(lookingUp, 'listening');
    expect(closeWouldReset(lookingUp)).toBe(false);

    const closed = await listen(net.createServer());
    expect(closeWouldReset(closed)).toBe(false);
    await closeServer(closed);
    let thrown: unknown;
    try {
      closeWouldReset(closed);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).toMatchObject({ code: ErrorCodes.NO_FD, message: expect.stringMatching(NOT_LISTENING) });
    // The stack starts at the caller's line, as for every other error.
    expect((thrown as Error).stack!.split('\n')[1]).toContain('server-close-would-reset.test.ts');
  });

  it('anything else: ERR_INVALID_ARG_TYPE, whose message names net.Server', () => {
    const fakeServer = Object.assign(new EventEmitter(), { _handle: { fd: 0 }, listening: true });
    for (const value of [fakeServer, {}, 'server', null]) {
      expect(() => closeWouldReset(value as unknown as net.Server)).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARG_TYPE',
          message: expect.stringMatching(/^The "target" argument must be an instance of net\.Socket or net\.Server, or of type number\. Received /),
        }),
      );
    }
  });
});

describe("closeWouldReset() of a cluster worker's server", () => {
  interface WorkerAnswer {
    listening: boolean;
    handleClass: string | null;
    handleFd: number | null;
    verdict?: boolean;
    code?: string;
    message?: string;
  }
  interface ClusterReport {
    schedulingPolicy: 'rr' | 'none';
    report: { tcp: WorkerAnswer; unix: WorkerAnswer; exclusive: WorkerAnswer; failed?: string };
  }

  async function runCluster(policy: 'rr' | 'none'): Promise<ClusterReport> {
    const fixture = path.join(root, 'test', 'fixtures', 'server-close-would-reset-cluster.cjs');
    const run = await runNode([fixture, policy, tempPath()], { timeoutMs: 20_000 });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const parsed = JSON.parse(run.stdout.trim()) as ClusterReport;
    expect(parsed.report.failed, parsed.report.failed).toBeUndefined();
    expect(parsed.schedulingPolicy).toBe(policy);
    return parsed;
  }

  it('round-robin (SCHED_RR): a listening server with no descriptor (the primary accepts) throws ERR_SOCKCLOSE_NO_FD, TCP and AF_UNIX; exclusive: a verdict', async () => {
    const { report } = await runCluster('rr');
    for (const answer of [report.tcp, report.unix]) {
      // The premise: Node's fake handle, listening, without a descriptor.
      expect(answer).toMatchObject({ listening: true, handleClass: 'Object', handleFd: null });
      expect(answer.code).toBe(ErrorCodes.NO_FD);
      expect(answer.message).toMatch(/^closeWouldReset\(\): the server holds no listening socket \(a cluster worker's server in round-robin mode \(SCHED_RR\): the primary holds the listener/);
    }
    expect(report.exclusive).toMatchObject({ listening: true, handleClass: 'TCP', verdict: false });
  });

  it("SCHED_NONE: the worker holds a copy of the primary's listener, whose close closes only that copy: ERR_SOCKCLOSE_NO_FD, TCP and AF_UNIX", async () => {
    const { report } = await runCluster('none');
    for (const [answer, handleClass] of [
      [report.tcp, 'TCP'],
      [report.unix, 'Pipe'],
    ] as const) {
      expect(answer).toMatchObject({ listening: true, handleClass });
      expect(answer.handleFd).toBeGreaterThanOrEqual(0);
      expect(answer.code).toBe(ErrorCodes.NO_FD);
      expect(answer.message).toMatch(/^closeWouldReset\(\): the server holds no listening socket \(a cluster worker's server sharing the primary's listener \(SCHED_NONE\)/);
    }
    expect(report.exclusive).toMatchObject({ listening: true, handleClass: 'TCP', verdict: false });
  });
});
