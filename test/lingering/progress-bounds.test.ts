// The bounds where a peer moves for a while: progress (a byte read, a byte of ours acknowledged)
// restarts the idle timeout, in every stage, and only from the moment it happened; a peer that
// stops is closed one idle timeout after its last progress, not at the next look that notices it.
// And the flush, the stage before the hand-over (JavaScript, while Node's queues drain): its
// input dropped and counted, its drain limit, a reset during it, lingeringClose() called twice.
//
// Durations are what these tests are about, so the peers are paced with waits ("waitMs": the
// peer's behaviour, not synchronisation); every wait for an outcome is an event with a timeout. A
// peer that must stay silent until the server ends the connection waits for that ("awaitError":
// the server's RST), not for a while that has to be long enough.
import { spawnSync } from 'node:child_process';
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import type { Step } from './kernel-peer.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';
import { reportingServer, type EnableOptions, type Report } from './reporting-server.js';

const { lingeringClose } = sockclose;

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();

const IDLE = 1000;
// A look at the send queue comes every idleTimeout / 8: a progress is dated at most that late.
const LOOK = IDLE / 8;

function lingeringServer(onConnection: (socket: net.Socket) => void, options: EnableOptions) {
  return reportingServer(cleanups, onConnection, options);
}

/** A server whose every connection is lingering-closed directly, with `options`. */
async function directServer(onConnection: (socket: net.Socket) => void, options: Parameters<typeof lingeringClose>[1]) {
  const closes: Promise<Report>[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    onConnection(socket);
    closes.push(lingeringClose(socket, options));
  });
  await listen(server);
  cleanups.add(() => closeServer(server));
  return { port: portOf(server), closes };
}

/** A peer that reads `chunk` bytes every `everyMs`, `times` times (a slow reader), then waits. */
function slowReader(chunk: number, everyMs: number, times: number): Step[] {
  const steps: Step[] = [];
  for (let i = 1; i <= times; i++) steps.push({ recvUntil: i * chunk }, { waitMs: everyMs });
  return steps;
}

describe('a peer that stops after some progress is held one idle timeout from it', () => {
  // The peer reads once, 150 ms into the linger (its window opens: the server's kernel sends more,
  // which is acknowledged), then reads nothing more and sends nothing. Before the fix the progress
  // was dated by the look at the idle deadline: closed ~2 idle timeouts in. Its 150 ms count from
  // the linger's start (a gate), not from its connect: a stall of this process between the two
  // (75 ms was enough) put the read before the linger, which then never saw any progress.
  const READ_AT = 150;
  const steps: Step[] = [{ gate: 'lingering' }, { waitMs: READ_AT }, { recvUntil: 100_000 }, { awaitError: true }];

  it.each([
    [
      'by the native lingerer (destroy() once Node has written 1 MiB)',
      (socket: net.Socket) => socket.write(Buffer.alloc(1024 * 1024), () => socket.destroy()),
    ],
    ['while half-closed (end() with 256 KiB, the peer never sends its FIN)', (socket: net.Socket) => socket.end(Buffer.alloc(256 * 1024))],
  ])('%s', async (_stage, close) => {
    const { port, reports, control } = await lingeringServer(close, { idleTimeout: IDLE, maxTimeout: 10 * IDLE });
    const seen = peer.run(
      { port, rcvbuf: 64 * 1024, steps, timeoutMs: 10 * IDLE },
      { lingering: () => until(() => control.stats().lingering === 1, 5000, 'the linger to begin') },
    );
    // Past the cap (10 idle timeouts): whatever ends the linger, its report has come by then and
    // the checks below judge it. A wait of 6 failed once under ASan beside two busy loops
    // (2026-12-07), where the peer, the connect and the 1 MiB write share what CPU is left.
    await until(() => reports.length === 1, 12 * IDLE, 'the report');
    const report = reports[0]!;
    expect(report.reason).toBe('idle-timeout');
    // Its progress counted (not closed one idle timeout from the start; the duration counts from
    // the hand-over, which comes a little after the peer's clock started)…
    expect(report.durationMs).toBeGreaterThanOrEqual(IDLE + READ_AT / 2);
    // …and dated within one look of when it happened, plus a loaded machine's slack: 550 ms, room
    // for a stall of this process or the peer's, short of the ~2 idle timeouts (2,000 ms) of a
    // progress dated at the idle deadline.
    expect(report.durationMs).toBeLessThan(READ_AT + IDLE + LOOK + 550);
    const result = await seen;
    expect(result.received).toBeGreaterThanOrEqual(100_000);
    // The peer's silence ended with the server's close, not its own deadline.
    expect(result.awaited).not.toBe('timeout');
  });
});

describe('the flush (Node still holds bytes of ours): bounded and drained like the linger', () => {
  it('lingeringClose() of a socket whose peer reads nothing ends at the idle timeout, not the total cap', async () => {
    const { port, closes } = await directServer((socket) => socket.write(Buffer.alloc(32 * 1024 * 1024)), {
      idleTimeout: 500,
      maxTimeout: 10_000,
    });
    const seen = peer.run({ port, rcvbuf: 64 * 1024, steps: [{ awaitError: true }], timeoutMs: 10_000 });
    await until(() => closes.length === 1, 5000, 'the connection');
    const report = await within(closes[0]!, 5000, 'the report');
    expect(report.reason).toBe('idle-timeout');
    expect(report.durationMs).toBeGreaterThanOrEqual(490);
    expect(report.durationMs).toBeLessThan(1500);
    // The peer's silence ended with the server's close, not its own deadline.
    expect((await seen).awaited).not.toBe('timeout');
  });

  it.each([
    ['a slow reader (64 KiB every 100 ms: our bytes acknowledged)', slowReader(64 * 1024, 100, 40)],
    ['a trickling peer (one byte every 100 ms: bytes read)', [{ trickle: { everyMs: 100 } }] as Step[]],
  ])('destroy() with 32 MB still in libuv: %s is not cut at the idle timeout', async (_peer, steps) => {
    const { port, reports } = await lingeringServer(
      (socket) => {
        socket.write(Buffer.alloc(32 * 1024 * 1024));
        socket.destroy();
      },
      // The flush sees a trickled byte only once libuv has read it, in a poll that comes after the
      // flush's timer when this process stalls: 1 s leaves a stall of 900 ms room between bytes.
      { idleTimeout: 1000, maxTimeout: 2000 },
    );
    const seen = peer.run({ port, rcvbuf: 64 * 1024, steps, timeoutMs: 8000 });
    await until(() => reports.length === 1, 6000, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'max-timeout', closedWith: 'reset' });
    await seen;
  });

  it('input during the flush is dropped and counted; maxDrainBytes ends it (within one read)', async () => {
    const LIMIT = 1024 * 1024;
    const { port, reports, control } = await lingeringServer(
      (socket) => {
        socket.write(Buffer.alloc(32 * 1024 * 1024));
        socket.destroy();
      },
      { idleTimeout: 2000, maxTimeout: 10_000, maxDrainBytes: LIMIT },
    );
    // Reads nothing of our 32 MB, sends 8 MiB.
    const seen = peer.run({ port, rcvbuf: 64 * 1024, steps: [{ send: 8 * 1024 * 1024 }, { awaitError: true }], timeoutMs: 10_000 });
    await until(() => reports.length === 1, 5000, 'the report');
    const report = reports[0]!;
    expect(report).toMatchObject({ reason: 'drain-limit', closedWith: 'reset' });
    expect(report.drainedBytes).toBeGreaterThan(LIMIT);
    expect(report.drainedBytes).toBeLessThanOrEqual(LIMIT + 64 * 1024);
    expect(control.stats().drainedBytes).toBe(report.drainedBytes);
    // The peer's silence ended with the server's close, not its own deadline.
    expect((await seen).awaited).not.toBe('timeout');
  });

  it("lingeringClose(): what the peer sends after the call never reaches the socket's listeners, and is counted", async () => {
    let appBytes = 0;
    const { port, closes } = await directServer(
      (socket) => {
        // An application that reads (the server pauses new connections).
        socket.on('data', (chunk: Buffer) => (appBytes += chunk.length)).resume();
        // More than the kernel's buffers take: the flush lasts until the peer reads.
        socket.write(Buffer.alloc(32 * 1024 * 1024));
      },
      { idleTimeout: 2000 },
    );
    // Sends 1 MB before reading anything, then reads everything to our FIN.
    const seen = peer.run({ port, rcvbuf: 64 * 1024, steps: [{ send: 1_000_000 }, { recvEnd: true }], timeoutMs: 10_000 });
    await until(() => closes.length === 1, 5000, 'the connection');
    const report = await within(closes[0]!, 8000, 'the report');
    expect(await seen).toMatchObject({ received: 32 * 1024 * 1024, end: 'eof' });
    expect(report.reason).toBe('eof');
    expect(report.drainedBytes).toBe(1_000_000);
    expect(appBytes).toBe(0);
  });

  it('lingeringClose() called twice: both calls settle, with the one close', async () => {
    const seconds: Promise<Report>[] = [];
    const { port, closes } = await directServer(
      (socket) => {
        socket.write(Buffer.alloc(8 * 1024 * 1024));
        setImmediate(() => seconds.push(lingeringClose(socket, { idleTimeout: 100 })));
      },
      { idleTimeout: 300, maxTimeout: 5000 },
    );
    const seen = peer.run({ port, rcvbuf: 64 * 1024, steps: [{ awaitError: true }], timeoutMs: 10_000 });
    await until(() => seconds.length === 1, 5000, 'the second call');
    const [first, second] = await within(Promise.all([closes[0]!, seconds[0]!]), 5000, 'both calls to settle');
    expect(second).toEqual(first);
    // The first call's options stand.
    expect(first.reason).toBe('idle-timeout');
    expect(first.durationMs).toBeGreaterThanOrEqual(290);
    // The peer's silence ended with the server's close, not its own deadline.
    expect((await seen).awaited).not.toBe('timeout');
  });

  it.each([
    ['enableLingeringClose(), destroy() with 16 MB in libuv', 'enable'],
    ['lingeringClose() with 16 MB queued', 'direct'],
  ])('a reset during the flush (%s) is reported as an error, not a clean end', async (_case, mode) => {
    const onConnection = (socket: net.Socket) => {
      socket.write(Buffer.alloc(16 * 1024 * 1024));
      if (mode === 'enable') socket.destroy();
    };
    const steps: Step[] = [{ recvUntil: 100_000 }, { reset: true }];
    let report: Report;
    if (mode === 'enable') {
      const { port, reports, control } = await lingeringServer(onConnection, { idleTimeout: 5000 });
      await peer.run({ port, rcvbuf: 64 * 1024, steps, timeoutMs: 10_000 });
      await until(() => reports.length === 1, 5000, 'the report');
      report = reports[0]!;
      expect(control.stats().reasons.error).toBe(1);
    } else {
      const { port, closes } = await directServer(onConnection, { idleTimeout: 5000 });
      await peer.run({ port, rcvbuf: 64 * 1024, steps, timeoutMs: 10_000 });
      await until(() => closes.length === 1, 5000, 'the connection');
      report = await within(closes[0]!, 5000, 'the report');
    }
    expect(report.reason).toBe('error');
    expect(['ECONNRESET', 'EPIPE']).toContain((report.error as NodeJS.ErrnoException | null)?.code);
  });
});

describe('maxDrainBytes in the native lingerer', () => {
  it.each([0, 100_000])('maxDrainBytes %i: reads exactly one byte past it, then ends', async (limit) => {
    let handedOver: Promise<unknown> | undefined;
    const { port, reports } = await lingeringServer(
      (socket) => {
        // Node lets go of the socket ('close') once the native lingerer has taken its descriptor.
        handedOver = nextEvent(socket, 'close', 5000, 'ignore');
        socket.destroy();
      },
      { idleTimeout: 5000, maxDrainBytes: limit },
    );
    // The hand-over comes first (destroy() on connection); the flood arrives in the native stage.
    const seen = peer.run(
      { port, steps: [{ gate: 'handed-over' }, { send: 4 * 1024 * 1024 }], timeoutMs: 10_000 },
      {
        'handed-over': async () => {
          await until(() => handedOver !== undefined, 5000, 'the connection');
          await handedOver;
        },
      },
    );
    await until(() => reports.length === 1, 5000, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'drain-limit', drainedBytes: limit + 1, closedWith: 'reset' });
    await seen;
  });
});

describe('lifecycle', () => {
  it('a server dropped without undoing lingering close keeps nothing alive (no pool left registered)', () => {
    // In a fresh process, so that the heap figures are this test's alone.
    const script = `
      const net = require('node:net');
      const { enableLingeringClose } = require(${JSON.stringify(root)});
      const N = 20000;
      const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
      for (let i = 0; i < 200; i++) enableLingeringClose(net.createServer());
      const before = heap();
      for (let i = 0; i < N; i++) enableLingeringClose(net.createServer());
      console.log(JSON.stringify({ perServer: (heap() - before) / N }));
    `;
    const child = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(child.status, child.stderr).toBe(0);
    const { perServer } = JSON.parse(child.stdout) as { perServer: number };
    // 311 B per server while every pool stayed in the lingerer's registry.
    expect(perServer).toBeLessThan(100);
  });
});
