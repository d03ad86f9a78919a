// Every bound of the native lingerer, counted once: a half-close whose peer never finishes, an
// emulated positive setLinger() under a shorter cap, and 2,000 hostile peers at once (never
// reading, trickling, blasting after our FIN, resetting mid-linger).
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { kernelClient } from '../helpers/kernel-client.js';
import { closeServer, connectionsLeftOnServer, listen, openSockets, portOf, socketsOpenedSince } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';
import { reportingServer, type EnableOptions, type Report } from './reporting-server.js';

const { enableLingeringClose, setLinger } = sockclose;

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();

function lingeringServer(onConnection: (socket: net.Socket) => void, options: EnableOptions) {
  return reportingServer(cleanups, onConnection, options);
}

describe('native lingerer bounds', () => {
  it('end() on 200 sockets whose peers never send their FIN: counted while half-closed, ended at the idle timeout', async () => {
    const before = openSockets();
    const { server, port, control } = await lingeringServer(
      (socket) => {
        socket.write('hello');
        socket.end(); // Node now waits for the peer's FIN, which never comes
      },
      // All 200 half-closed before the first idles out (peakLingering 200): 1 s, not 300 ms, which a
      // 400 ms stall of this process amid the accepts used up (peakLingering 99).
      { idleTimeout: 1000, maxTimeout: 5000 },
    );
    const held = await peer.hold(port, 200, 4);
    expect(held.ends).toEqual({ eof: 200, open: 0 });
    // Every one is counted as lingering from its half-close on.
    expect(control.stats().lingering + control.stats().reasons['idle-timeout']).toBe(200);
    await until(() => control.stats().reasons['idle-timeout'] === 200, 20_000, 'all 200 idle timeouts');
    expect(control.stats()).toMatchObject({ lingering: 0, peakLingering: 200, resets: 200 });
    await until(() => connectionsLeftOnServer(server) === 0, 10_000, 'the server-side connections to be gone');
    await until(() => socketsOpenedSince(before).length <= 1, 10_000, 'the descriptors to be closed');
    await held.release();
  });

  // The application half-closed and never read; the peer then finished (its FIN came after ours).
  // The watch still holds the socket to the idle timeout (the application may yet read what is
  // buffered), but nothing is left to wait for on the wire: the close ends as the peer's end does,
  // 'eof' and a normal close, not a timeout's reset to a connection both sides finished.
  it.each([
    ['in the kernel (a paused socket: Node read nothing)', true, 4],
    ["in Node's buffer (read, never consumed: Node emits no 'end')", false, 0],
  ])('end(), the peer finishes, its input left unread %s: ends at the idle timeout as eof, no reset', async (_where, paused, drained) => {
    // The peer's FIN must come before the idle timeout: 1 s, not 300 ms, which a 350 ms stall of
    // the Python peer before its close used up ('idle-timeout').
    const IDLE = 1000;
    const server = net.createServer({ pauseOnConnect: paused }, (socket) => {
      socket.on('error', () => {});
      socket.write('hello');
      socket.end(); // never reads: no 'data' listener, no resume()
    });
    const reports: Report[] = [];
    const control = enableLingeringClose(server, { idleTimeout: IDLE, maxTimeout: 5000, onReport: (report) => reports.push(report) });
    await listen(server);
    cleanups.add(() => closeServer(server), control);
    // Sends 4 bytes, reads to our FIN, then closes (its FIN).
    const seen = await kernelClient({ port: portOf(server), send: 4 });
    expect(seen).toMatchObject({ received: 5, end: 'eof', sendError: null });
    await until(() => reports.length === 1, 5000, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'eof', closedWith: 'close', drainedBytes: drained, error: null });
    // Held to the idle timeout all the same: the application had that long to read.
    expect(reports[0]!.durationMs).toBeGreaterThanOrEqual(IDLE);
    expect(control.stats()).toMatchObject({ lingering: 0, resets: 0 });
    expect(control.stats().reasons).toMatchObject({ eof: 1, 'idle-timeout': 0 });
  });

  it("setLinger(socket, 20) under maxTimeout 1000, peer not reading: the descriptor closes within the cap, counted meanwhile", async () => {
    const sockets: net.Socket[] = [];
    const { server, port, control, reports } = await lingeringServer(
      (socket) => {
        sockets.push(socket);
        setLinger(socket, 20); // emulated: would hold the handle up to 20 s while data is unacknowledged
        socket.write(Buffer.alloc(8 * 1024 * 1024));
        socket.destroy(); // libuv still holds most of it: the flush waits, within the caps
      },
      { idleTimeout: 300, maxTimeout: 1000 },
    );
    // A peer that reads nothing, with a small fixed window: most of the 8 MB stays unsent. It stays
    // so until the server's RST.
    const seen = peer.run({ port, rcvbuf: 16 * 1024, steps: [{ send: 4 }, { awaitError: true }], timeoutMs: 10_000 });
    await until(() => control.stats().lingering === 1, 5000, 'the socket to linger');
    const started = performance.now();
    await until(() => reports.length === 1, 5000, 'the report');
    const report = reports[0]!;
    expect(['idle-timeout', 'max-timeout']).toContain(report.reason);
    expect(report.durationMs).toBeLessThanOrEqual(1000 + 500);
    expect(report.closedWith).toBe('reset');
    // Reported when the descriptor is closed: the connection is gone (a reset leaves nothing).
    expect(connectionsLeftOnServer(server)).toBe(0);
    expect(control.stats().lingering).toBe(0);
    expect(performance.now() - started).toBeLessThan(20_000);
    // The peer's silence ended with the server's RST, not its own deadline.
    expect((await seen).awaited).toBe('error');
  });

  it('a slow reader of a large response outlasts the idle timeout as long as it keeps reading: our bytes acknowledged are progress', async () => {
    const SIZE = 16 * 1024 * 1024;
    const IDLE = 300;
    const { port, control, reports } = await lingeringServer(
      (socket) => {
        socket.write(Buffer.alloc(SIZE, 'z'));
        socket.destroySoon();
      },
      { idleTimeout: IDLE, maxTimeout: 20_000 },
    );
    const client = net.connect({ port, host: '127.0.0.1' });
    let received = 0;
    let error: Error | null = null;
    client.on('error', (failure) => (error = failure));
    // The peer's own pace (not a wait for anything): one chunk, then 10 ms off, about 6 MB/s. The
    // last few megabytes sit in our kernel's send queue after the hand-over, for longer than the
    // idle timeout: only their acknowledgement says the peer is still there. (The idle timeout is
    // no shorter than a loaded machine's stalls: a peer whose process stalls that long is idle.)
    client.on('data', (chunk: Buffer) => {
      received += chunk.length;
      client.pause();
      setTimeout(() => client.resume(), 10);
    });
    // 20 s for the end (nextEvent's own bound, 5 s by default, cut the 20 s short: the paced read
    // takes ~3.5 s, and a 2.5 s stall of this process during it failed the wait, not the linger).
    await within(nextEvent(client, 'end', 20_000), 20_000, "the response's end");
    client.end();
    await until(() => reports.length === 1, 10_000, 'the report');
    expect(error).toBeNull();
    expect(received).toBe(SIZE);
    expect(reports[0]).toMatchObject({ reason: 'eof', closedWith: 'close' });
    // The native lingerer had it, for longer than one idle timeout.
    expect(reports[0]!.durationMs).toBeGreaterThan(IDLE);
    expect(control.stats().reasons['idle-timeout']).toBe(0);
  });

  it('2,000 hostile peers at once: never reading, trickling, blasting after our FIN, resetting; every one ends within its bound', async () => {
    const PER_KIND = 500;
    const kinds = ['silent', 'trickle', 'blast', 'reset'] as const;
    type Kind = (typeof kinds)[number];
    const before = openSockets();
    const kindOfPort = new Map<number, Kind>();
    const byKind = new Map<Kind, Report[]>(kinds.map((kind) => [kind, []]));
    let accepted = 0;
    // The peer's port, read while the socket is connected (a closed socket no longer knows it).
    const peerPort = new WeakMap<net.Socket, number>();
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      accepted += 1;
      peerPort.set(socket, socket.remotePort!);
      socket.on('error', () => {});
      socket.write(Buffer.alloc(1024, 'x'));
      socket.destroySoon();
    });
    const hostile = enableLingeringClose(server, {
      // Wide enough that a loaded machine (or ASan) delivers each peer's first bytes within it.
      idleTimeout: 2000,
      maxTimeout: 5000,
      maxDrainBytes: 256 * 1024,
      maxLingering: 10_000,
      onReport: (report, socket) => byKind.get(kindOfPort.get(peerPort.get(socket)!)!)?.push(report),
    });
    // A backlog for 2,000 at once (Node's default, 511, would drop SYNs and stall for seconds).
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
    cleanups.add(() => new Promise<void>((resolve) => server.close(() => resolve())), hostile);

    const clients: net.Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    cleanups.add(() => {
      timers.forEach(clearInterval);
      clients.forEach((client) => client.destroy());
    });
    const chunk = Buffer.alloc(64 * 1024, 'b');
    const connected: Promise<void>[] = [];
    for (const kind of kinds) {
      for (let i = 0; i < PER_KIND; i++) {
        const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
        clients.push(client);
        client.on('error', () => {});
        connected.push(
          new Promise((resolve) =>
            client.once('connect', () => {
              kindOfPort.set(client.localPort!, kind);
              resolve();
            }),
          ),
        );
        client.once('end', () => {
          if (kind === 'trickle') timers.push(setInterval(() => client.write('.'), 100));
          if (kind === 'blast') {
            const blast = () => {
              while (!client.destroyed && client.write(chunk));
            };
            client.on('drain', blast);
            blast();
          }
          if (kind === 'reset') setImmediate(() => client.resetAndDestroy());
        });
        if (kind !== 'silent') client.resume();
      }
    }
    await within(Promise.all(connected), 30_000, '2,000 connections');
    const tally = () => `accepted ${accepted}; ${kinds.map((kind) => `${kind} ${byKind.get(kind)!.length}`).join(', ')}; ${JSON.stringify(hostile.stats())}`;
    await until(() => kinds.every((kind) => byKind.get(kind)!.length === PER_KIND), 30_000, 'every hostile peer to be reported').catch(
      (error: Error) => {
        throw new Error(`${error.message} (${tally()})`);
      },
    );

    const reasons = (kind: Kind) => [...new Set(byKind.get(kind)!.map((report) => report.reason))].sort();
    // Silent peers never read our 1 KB... which fits their window: they are idle, not stuck.
    expect(reasons('silent')).toEqual(['idle-timeout']);
    expect(reasons('trickle')).toEqual(['max-timeout']);
    expect(reasons('blast')).toEqual(['drain-limit']);
    // A reset after our FIN: 'error' (ECONNRESET), or 'eof' where the reset came after its FIN.
    for (const report of byKind.get('reset')!) {
      expect(['error', 'eof']).toContain(report.reason);
      if (report.reason === 'error') expect((report.error as { code?: string }).code).toBe('ECONNRESET');
    }
    // Each silent peer at its own idle deadline, neither before nor long after: the lingerer's due
    // heap (2,000 entries, some leaving early, some moving on each trickled byte) orders them.
    for (const report of byKind.get('silent')!) {
      expect(report.durationMs).toBeGreaterThanOrEqual(2000 - 100);
      expect(report.durationMs).toBeLessThan(2000 + 2000);
    }
    for (const report of byKind.get('trickle')!) expect(report.durationMs).toBeLessThan(5000 + 1000);
    for (const report of byKind.get('blast')!) expect(report.drainedBytes).toBeGreaterThan(256 * 1024);
    const stats = hostile.stats();
    expect(stats.lingering).toBe(0);
    expect(Object.values(stats.reasons).reduce((sum, n) => sum + n, 0)).toBe(2000);
    // Every server-side descriptor is closed: only our own clients (and the listeners) are left.
    timers.forEach(clearInterval);
    clients.forEach((client) => client.destroy());
    await until(() => socketsOpenedSince(before).length <= 2, 20_000, 'every descriptor to be closed');
  });
});

// A peer that sends nothing and reads nothing gets one idle timeout, not two. Two looks used to
// count as progress what was not: the half-closed watch's first look (it took its baseline at the
// deadline), and on Linux the acknowledgement of our FIN, which the send queue counts as a byte
// until a delayed ACK (~40 ms) arrives, after the lingerer's first read (10 ms). Either doubled the
// bound. Nor is it held less: the lingerer counted from the loop's cached time, which is as old as
// the iteration that hands the connection over. The upper limit leaves three quarters of an idle
// timeout for a loaded machine's timers (a stall of this process delays the report as much), short
// of the two a doubled bound takes.
describe('a silent peer is held one idle timeout', () => {
  const IDLE = 1000;
  const CLIENTS = 5;

  async function silentPeers(close: (socket: net.Socket) => void): Promise<Report[]> {
    const { port, reports } = await lingeringServer(close, { idleTimeout: IDLE, maxTimeout: 10 * IDLE });
    for (let i = 0; i < CLIENTS; i++) {
      // allowHalfOpen: Node would otherwise answer our FIN with its own.
      const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      client.on('error', () => {});
      client.resume();
      cleanups.add(() => void client.destroy());
    }
    await until(() => reports.length === CLIENTS, 6 * IDLE, `${CLIENTS} reports`);
    return reports;
  }

  // A hand-over at the end of a long loop iteration: the loop's cached time is 100 ms old then, and
  // deadlines counted from it came that much early.
  const afterLongIteration = (socket: net.Socket) => {
    const busyUntil = performance.now() + 100;
    while (performance.now() < busyUntil);
    socket.destroy();
  };

  it.each([
    ['by the native lingerer (destroy() after the response)', (socket: net.Socket) => socket.destroy()],
    ['by the native lingerer, handed over 100 ms into a loop iteration', afterLongIteration],
    ['while half-closed (end() after the response, the peer never sends its FIN)', (socket: net.Socket) => socket.end()],
  ])('%s', async (_stage, close) => {
    const reports = await silentPeers((socket) => {
      socket.write('hello');
      close(socket);
    });
    for (const report of reports) {
      expect(report.reason).toBe('idle-timeout');
      expect(report.durationMs).toBeGreaterThanOrEqual(IDLE - 10);
      expect(report.durationMs).toBeLessThan(1.75 * IDLE);
    }
  });
});
