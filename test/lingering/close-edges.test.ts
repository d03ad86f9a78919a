// Closes at the edges of the lingering close's contract: a direct lingeringClose() on a lingering
// server's socket is counted from its start; a close that began there stays its server's after an
// undo; a reset during the flush ends it at once (TLS too); another stream's error passed to
// destroy() does not cut the response; a close decided before the hand-over never blocks the loop;
// AF_UNIX, which has no RST, is never reported as reset.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, tempDir } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';

const { enableLingeringClose, lingeringClose, lingeringCloseStats, setLinger } = sockclose;
type LingerReport = Awaited<ReturnType<typeof lingeringClose>>;

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();
const MiB = 1024 * 1024;

/** A client that reads nothing until told to, then counts every byte until the end. */
function pausedClient(port: number, options: net.NetConnectOpts = { port }) {
  const client = net.connect({ host: '127.0.0.1', ...options, port });
  client.on('error', () => {});
  client.pause();
  cleanups.add(() => void client.destroy());
  let received = 0;
  const ended = new Promise<number>((resolve) => {
    client.on('data', (chunk: Buffer) => (received += chunk.length));
    client.on('close', () => resolve(received));
  });
  return { client, ended };
}

describe('the lingering close at its edges', () => {
  it("lingeringClose() on a lingering server's socket is counted from its start: maxLingering holds, drained() waits", async () => {
    const reports: Promise<LingerReport>[] = [];
    const srv = net.createServer((socket) => {
      socket.on('error', () => {});
      if (reports.length > 0) return void socket.destroy();
      socket.once('data', () => {
        socket.write(Buffer.alloc(8 * MiB, 1));
        reports.push(lingeringClose(socket, { idleTimeout: 5000 }));
      });
    });
    const control = enableLingeringClose(srv, { maxLingering: 1 });
    await listen(srv);
    cleanups.add(() => closeServer(srv), control);

    const first = pausedClient(portOf(srv));
    first.client.write('request');
    // Flushing (the client reads nothing): counted, and drained() waits.
    await until(() => control.stats().lingering === 1, 5000, 'the flushing close to be counted');
    let drained = false;
    void control.drained().then(() => (drained = true));
    // The pool is full: the next socket's close is refused, as maxLingering says.
    const second = net.connect(portOf(srv), '127.0.0.1');
    second.on('error', () => {});
    cleanups.add(() => void second.destroy());
    await until(() => control.stats().reasons.overload === 1, 5000, 'the second close to be refused');
    expect(drained).toBe(false);

    // The client reads and finishes: the whole response arrived, and only then is the pool drained.
    first.client.resume();
    first.client.once('end', () => first.client.end());
    expect(await within(first.ended, 10_000, 'the first client to end')).toBe(8 * MiB);
    const report = await within(reports[0]!, 10_000, "the first close's report");
    expect(report.reason).toBe('eof');
    await within(control.drained(), 5000, 'the pool to drain');
    expect(drained).toBe(true);
    expect(control.stats()).toMatchObject({ lingering: 0, peakLingering: 1 });
  });

  it('a close that began on a server stays counted there after the server undid lingering close, then ends', async () => {
    let accepted: net.Socket | undefined;
    const srv = net.createServer((socket) => {
      socket.on('error', () => {});
      accepted = socket;
      socket.once('data', () => socket.end('response'));
    });
    const undo = enableLingeringClose(srv, { idleTimeout: 10_000 });
    await listen(srv);
    cleanups.add(() => closeServer(srv), undo);
    const threadBefore = lingeringCloseStats().lingering;

    const client = net.connect({ port: portOf(srv), host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    cleanups.add(() => void client.destroy());
    client.resume();
    client.write('request');
    // Our FIN is out, the client's is not: the close has begun, counted on the server.
    await until(() => undo.stats().lingering === 1, 5000, 'the half-closed socket to be counted');
    undo();
    const report = lingeringClose(accepted!, { idleTimeout: 5000 });
    client.end();
    expect((await within(report, 10_000, 'the report')).reason).toBe('eof');
    // Given back where it was taken: the server's pool drains, the thread's count is as before.
    await within(undo.drained(), 5000, "the server's pool to drain");
    expect(undo.stats().lingering).toBe(0);
    expect(lingeringCloseStats().lingering).toBe(threadBefore);
  });

  it('TLS: a reset during the flush ends the close at once, as an error, not at the idle timeout', async () => {
    const { key, cert } = testCert();
    const reports: LingerReport[] = [];
    const reported = new Promise<LingerReport>((resolve) => {
      const srv = tls.createServer({ key, cert }, (socket) => {
        socket.on('error', () => {});
        socket.once('data', () => {
          socket.write(Buffer.alloc(8 * MiB, 1));
          socket.destroy();
        });
      });
      const control = enableLingeringClose(srv, {
        idleTimeout: 30_000,
        onReport: (report) => {
          reports.push(report);
          resolve(report);
        },
      });
      void listen(srv).then(() => {
        cleanups.add(() => closeServer(srv), control);
        // A small window, never read past 64 KiB: most of the 8 MiB stays in Node's queues; then RST.
        void peer.run({ port: portOf(srv), tls: true, rcvbuf: 16_384, steps: [{ sendText: 'request' }, { recvUntil: 65_536 }, { reset: true }] });
      });
    });
    const report = await within(reported, 15_000, 'the report (the idle timeout is 30 s)');
    expect(report).toMatchObject({ reason: 'error', closedWith: 'close' });
    expect(reports).toHaveLength(1);
  });

  it("destroy() with another stream's error (a file, an upstream's reset) still delivers the response, then lingers", async () => {
    const failures: [string, Error][] = [
      ['a file that could not be read', Object.assign(new Error("ENOENT: no such file or directory, open 'missing'"), { code: 'ENOENT', errno: -2, syscall: 'open' })],
      ["an upstream's reset, passed on", Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' })],
    ];
    for (const [what, failure] of failures) {
      const reports: LingerReport[] = [];
      const srv = net.createServer((socket) => {
        socket.on('error', () => {});
        socket.once('data', () => {
          socket.write(Buffer.alloc(4 * MiB, 1));
          socket.destroy(failure);
        });
      });
      const control = enableLingeringClose(srv, { onReport: (report) => reports.push(report) });
      await listen(srv);
      cleanups.add(() => closeServer(srv), control);
      const { client, ended } = pausedClient(portOf(srv));
      client.write('request');
      client.resume();
      client.once('end', () => client.end());
      expect(await within(ended, 10_000, `the client to end (${what})`), what).toBe(4 * MiB);
      await until(() => reports.length === 1, 5000, `the report (${what})`);
      expect(reports[0], what).toMatchObject({ reason: 'eof', error: null });
    }
  });

  it('a close ended before the hand-over turns a positive SO_LINGER off first: the loop never blocks on it', async () => {
    const reports: LingerReport[] = [];
    const srv = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        // A kernel linger longer than this test's wait for the report: close() would block on it.
        setLinger(socket, 30, { blocking: true });
        socket.write(Buffer.alloc(8 * MiB, 1));
        socket.destroy();
      });
    });
    // The client never reads: the flush runs into the idle timeout, and 'close' closes normally.
    const control = enableLingeringClose(srv, { idleTimeout: 300, onTimeout: 'close', onReport: (report) => reports.push(report) });
    await listen(srv);
    cleanups.add(() => closeServer(srv), control);
    const { client } = pausedClient(portOf(srv));
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    try {
      client.write('request');
      await until(() => reports.length === 1, 15_000, 'the report');
    } finally {
      delay.disable();
    }
    expect(reports[0]).toMatchObject({ reason: 'idle-timeout', closedWith: 'close' });
    // Blocked, the loop would have stood still for the linger's 30 s (the wait above fails first).
    expect(delay.max / 1e6).toBeLessThan(10_000);
  });

  it('destroy() while lingeringClose() flushes: the promise resolves once the descriptor is closed (the peer holds the RST)', async () => {
    const srv = net.createServer();
    await listen(srv);
    cleanups.add(() => closeServer(srv));
    const accepted = nextEvent<[net.Socket]>(srv, 'connection');
    const { client } = pausedClient(portOf(srv));
    const [socket] = await accepted;
    socket.on('error', () => {});
    // The client reads nothing: the flush runs into the idle timeout, which resets.
    socket.write(Buffer.alloc(20 * MiB, 1));
    const closed = lingeringClose(socket, { idleTimeout: 300 });
    socket.destroy(); // the application's own, during the flush
    const seen = await within(
      closed.then((report) => ({ report, handle: (socket as unknown as { _handle: unknown })._handle, peer: sockclose.inspectSocket(client).state })),
      15_000,
      'the report',
    );
    expect(seen.report).toMatchObject({ reason: 'idle-timeout', closedWith: 'reset' });
    // Node's handle is gone and the reset has reached the peer by the time the promise resolves.
    expect(seen.handle).toBeNull();
    expect(seen.peer).toBe('CLOSE');
  });

  it('a timeout ends a linger only after a last read: a peer that finished first ends as itself (a timeout as short as the first read too)', async () => {
    const reports: LingerReport[] = [];
    const accepted = new Promise<net.Socket>((resolve) => {
      const srv = net.createServer({ pauseOnConnect: true }, (socket) => {
        socket.on('error', () => {});
        resolve(socket);
      });
      // Idle for 1 ms: due with the native lingerer's first read (1 ms after the hand-over); the
      // read comes first.
      const control = enableLingeringClose(srv, { idleTimeout: 1, onReport: (report) => reports.push(report) });
      void listen(srv).then(() => {
        cleanups.add(() => closeServer(srv), control);
        // The request and the FIN at once; the server never reads either.
        const client = net.connect(portOf(srv), '127.0.0.1', () => client.end('request'));
        client.on('error', () => {});
        client.resume();
        cleanups.add(() => void client.destroy());
      });
    });
    const socket = await within(accepted, 5000, 'the connection');
    await until(() => sockclose.inspectSocket(socket).peerFinReceived === true, 5000, "the client's FIN to arrive");
    // Node has read nothing (paused): the native lingerer takes it over at once, input unread.
    socket.destroy();
    await until(() => reports.length === 1, 5000, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'eof', closedWith: 'close', drainedBytes: 'request'.length });
  });

  it('AF_UNIX has no RST: a timed-out linger closes and is reported as closed, natively or half-closed', async () => {
    const dir = tempDir('sockclose-unix-');
    cleanups.add(() => fs.rmSync(dir, { recursive: true, force: true }));
    const reports: LingerReport[] = [];
    const srv = net.createServer((socket) => {
      socket.on('error', () => {});
      // One socket handed to the native lingerer (destroy()), one half-closed in JavaScript (end()).
      socket.once('data', (data) => (data.toString() === 'native' ? socket.end('response', () => socket.destroy()) : socket.end('response')));
    });
    const control = enableLingeringClose(srv, { idleTimeout: 200, onReport: (report) => reports.push(report) });
    await listen(srv, { path: path.join(dir, 'server.sock') });
    cleanups.add(() => closeServer(srv), control);
    for (const mode of ['native', 'half-closed']) {
      const client = net.connect({ path: path.join(dir, 'server.sock'), allowHalfOpen: true });
      cleanups.add(() => void client.destroy());
      client.on('error', () => {});
      client.resume();
      await nextEvent(client, 'connect');
      client.write(mode);
      // The client never sends its FIN: the linger times out.
      await nextEvent(client, 'end');
    }
    await until(() => reports.length === 2, 10_000, 'both reports');
    for (const report of reports) expect(report).toMatchObject({ reason: 'idle-timeout', closedWith: 'close' });
    expect(control.stats().resets).toBe(0);
  });
});
