// lingeringClose() on real loopback sockets, judged by a kernel-level client (what recv()/send()
// returned) and by the kernel's own state (ss, the native probe).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, tempDir, timeWaitBetween } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';

const { lingeringClose, peekSocketError } = sockclose;
type LingerReport = Awaited<ReturnType<typeof lingeringClose>>;

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();

/**
 * A server that, on each connection, runs `onConnection` and lingering-closes with `options`;
 * resolves each connection's report in order. `pauseOnConnect`: Node never reads the request (the
 * seed 004 server).
 */
async function lingeringServer(
  onConnection: (socket: net.Socket) => void,
  options: Parameters<typeof lingeringClose>[1] = {},
): Promise<{ port: number; nextReport: () => Promise<LingerReport> }> {
  const reports: Promise<LingerReport>[] = [];
  let arrived: (() => void) | undefined;
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    onConnection(socket);
    reports.push(lingeringClose(socket, options));
    arrived?.();
  });
  await listen(server);
  cleanups.add(() => closeServer(server));
  let taken = 0;
  const nextReport = async () => {
    if (reports.length <= taken) await within(new Promise<void>((resolve) => (arrived = resolve)), 5000, 'a connection');
    return within(reports[taken++]!, 40_000, 'the lingering close report');
  };
  return { port: portOf(server), nextReport };
}

describe('lingeringClose', () => {
  it('delivers all 600,000 bytes of the seed 004 response and drains the 4 unread bytes', async () => {
    const { port, nextReport } = await lingeringServer((socket) => socket.write(Buffer.alloc(600_000, 'x')));
    for (let run = 0; run < 10; run++) {
      const seen = await peer.run({ port, steps: [{ send: 4 }, { recvEnd: true }] });
      expect(seen).toMatchObject({ received: 600_000, end: 'eof', sendError: null });
      const report = await nextReport();
      expect(report).toMatchObject({ reason: 'eof', drainedBytes: 4, closedWith: 'close', error: null, shortened: false });
    }
  });

  it('drains what the peer sends after our FIN without handing it to the socket', async () => {
    let delivered = 0;
    const { port, nextReport } = await lingeringServer((socket) => {
      socket.on('data', (chunk: Buffer) => (delivered += chunk.length));
      socket.resume();
      socket.write('hello');
    });
    const seen = await peer.run({
      port,
      steps: [{ recvUntil: 5 }, { recvEnd: true }, { send: 300_000 }, { shutdown: true }, { recvEnd: true }],
    });
    expect(seen).toMatchObject({ received: 5, end: 'eof', sendError: null });
    const report = await nextReport();
    expect(report.reason).toBe('eof');
    expect(report.drainedBytes).toBe(300_000);
    expect(delivered).toBe(0);
  });

  it('ends an idle peer with a reset after idleTimeout, leaving no TIME_WAIT', async () => {
    const { port, nextReport } = await lingeringServer((socket) => socket.write('hello'), { idleTimeout: 200 });
    // allowHalfOpen: Node would otherwise answer our FIN with its own.
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('data', () => {});
    client.on('error', () => {});
    await nextEvent(client, 'connect');
    client.write('abcd');
    await nextEvent(client, 'end');
    // The client keeps its side open and sends nothing: only the idle timeout can end this.
    const report = await nextReport();
    expect(report).toMatchObject({ reason: 'idle-timeout', drainedBytes: 4, closedWith: 'reset' });
    expect(report.durationMs).toBeGreaterThanOrEqual(190);
    await until(() => peekSocketError(client) !== null, 5000, 'the RST to reach the client');
    // The RST came after our FIN (the client is in CLOSE_WAIT): the kernel names it EPIPE.
    expect(peekSocketError(client)?.code).toBe('EPIPE');
    expect(timeWaitBetween(port, client.localPort!)).toBe(0);
    client.destroy();
  });

  it("closes normally after a timeout with onTimeout: 'close'", async () => {
    const { port, nextReport } = await lingeringServer((socket) => socket.write('hello'), {
      idleTimeout: 100,
      onTimeout: 'close',
    });
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.resume();
    await nextEvent(client, 'end');
    const report = await nextReport();
    expect(report).toMatchObject({ reason: 'idle-timeout', drainedBytes: 0, closedWith: 'close', unreadBytes: 0 });
    // Nothing was unread: the close is an ordinary one, and the client sees no error.
    expect(peekSocketError(client)).toBeNull();
    client.destroy();
  });

  it('cannot be held past maxTimeout by a peer trickling one byte every 50 ms', async () => {
    // The idle timeout leaves the peer's process room to stall between two bytes (550 ms).
    const { port, nextReport } = await lingeringServer((socket) => socket.write('hello'), {
      idleTimeout: 600,
      maxTimeout: 1200,
    });
    const [seen, report] = await Promise.all([
      peer.run({ port, timeoutMs: 10_000, steps: [{ recvEnd: true }, { trickle: { everyMs: 50 } }] }),
      nextReport(),
    ]);
    expect(report).toMatchObject({ reason: 'max-timeout', closedWith: 'reset' });
    expect(report.drainedBytes).toBeGreaterThan(3);
    expect(report.durationMs).toBeGreaterThanOrEqual(1190);
    // The trickle ran into the reset.
    expect(['ECONNRESET', 'EPIPE']).toContain(seen.sendError);
  });

  it('stops at maxDrainBytes and resets', async () => {
    const { port, nextReport } = await lingeringServer((socket) => socket.write('hello'), { maxDrainBytes: 65_536 });
    const [seen, report] = await Promise.all([
      peer.run({ port, steps: [{ recvEnd: true }, { send: 8_000_000 }, { recvEnd: true }] }),
      nextReport(),
    ]);
    expect(report).toMatchObject({ reason: 'drain-limit', closedWith: 'reset' });
    // The reset hit a peer still sending: the report says how much it left unread.
    expect(report.unreadBytes).toBeGreaterThan(0);
    expect(report.drainedBytes).toBeGreaterThan(65_536);
    expect(['ECONNRESET', 'EPIPE']).toContain(seen.sendError ?? seen.end);
  });

  it("says the drain limit reset under onTimeout: 'close' too: the plain close left input unread, which TCP answers with RST", async () => {
    const { port, nextReport } = await lingeringServer((socket) => socket.write('hello'), {
      maxDrainBytes: 65_536,
      onTimeout: 'close',
    });
    const [seen, report] = await Promise.all([
      peer.run({ port, steps: [{ recvEnd: true }, { send: 8_000_000 }, { recvEnd: true }] }),
      nextReport(),
    ]);
    expect(report).toMatchObject({ reason: 'drain-limit', closedWith: 'reset' });
    expect(report.unreadBytes).toBeGreaterThan(0);
    // The peer, still sending, ran into the kernel's RST.
    expect(['ECONNRESET', 'EPIPE']).toContain(seen.sendError ?? seen.end);
  });

  it("reports the peer's reset as 'error'", async () => {
    const { port, nextReport } = await lingeringServer((socket) => socket.write('hello'));
    const seen = await peer.run({ port, steps: [{ recvEnd: true }, { send: 10 }, { reset: true }] });
    expect(seen.end).toBe('eof');
    const report = await nextReport();
    expect(report.reason).toBe('error');
    expect(report.error).toMatchObject({ code: 'ECONNRESET' });
    expect(report.closedWith).toBe('close');
  });

  it("keeps the connection's own error in the report when the application emitted another on the socket", async () => {
    // 8 MB the peer never reads: the close is still flushing in Node when the peer resets.
    let appErrorEmitted!: () => void;
    const emittedApp = new Promise<void>((resolve) => (appErrorEmitted = resolve));
    const { port, nextReport } = await lingeringServer((socket) => {
      socket.on('error', () => {});
      socket.write(Buffer.alloc(8_000_000));
      // After lingeringClose() has begun (the server's handler calls it right after this one).
      queueMicrotask(() => {
        socket.emit('error', new Error('an error of the application, without a code'));
        appErrorEmitted();
      });
    });
    // The peer resets only once the application's error is out: the connection's comes second.
    await peer.run({ port, steps: [{ send: 10 }, { gate: 'app-error' }, { reset: true }] }, { 'app-error': () => within(emittedApp, 5000, "the application's error") });
    const report = await nextReport();
    expect(report.reason).toBe('error');
    // The report's error is the connection's (a system error), never the application's own.
    expect(report.error).toMatchObject({ code: expect.stringMatching(/^E[A-Z]+$/) });
  });

  it('waits for a peer that half-closed first, then reads our reply', async () => {
    // The peer sends its request and its FIN before we answer: the linger ends at once.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.resume();
      socket.once('end', () => {
        socket.write('reply');
        reports.push(lingeringClose(socket));
      });
    });
    const reports: Promise<LingerReport>[] = [];
    await listen(server);
    cleanups.add(() => closeServer(server));
    const seen = await peer.run({ port: portOf(server), steps: [{ send: 100 }, { shutdown: true }, { recvEnd: true }] });
    expect(seen).toMatchObject({ received: 5, end: 'eof' });
    await until(() => reports.length === 1, 5000, 'the server to close');
    expect(await reports[0]).toMatchObject({ reason: 'eof', drainedBytes: 0, closedWith: 'close' });
  });
});

describe('lingeringClose on AF_UNIX', () => {
  it('delivers the whole response where a plain close would make the reader fail with ECONNRESET', async () => {
    const dir = tempDir();
    const reports: Promise<LingerReport>[] = [];
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.write(Buffer.alloc(600_000, 'u'));
      reports.push(lingeringClose(socket, { idleTimeout: 5000 }));
    });
    await listen(server, { path: path.join(dir, 'l.sock') });
    cleanups.add(() => closeServer(server));
    try {
      const client = net.connect(path.join(dir, 'l.sock'));
      let received = 0;
      let failure: string | null = null;
      client.on('data', (chunk: Buffer) => (received += chunk.length));
      client.on('error', (error: NodeJS.ErrnoException) => (failure = error.code ?? error.message));
      await nextEvent(client, 'connect');
      client.write('unread');
      await nextEvent(client, 'close', 10_000, 'ignore');
      expect({ received, failure }).toEqual({ received: 600_000, failure: null });
      expect(await within(reports[0]!, 10_000, 'the report')).toMatchObject({ reason: 'eof', drainedBytes: 6 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lingeringClose on AF_UNIX, input left unread', () => {
  it('the drain limit with the peer still sending: reported as the reset Linux makes it (ECONNRESET at the peer)', async () => {
    const dir = tempDir();
    const reports: Promise<LingerReport>[] = [];
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.write('hello');
      reports.push(lingeringClose(socket, { maxDrainBytes: 65_536 }));
    });
    await listen(server, { path: path.join(dir, 'u.sock') });
    cleanups.add(() => closeServer(server));
    try {
      const client = net.connect(path.join(dir, 'u.sock'));
      let failure: string | null = null;
      client.on('error', (error: NodeJS.ErrnoException) => (failure ??= error.code ?? error.message));
      client.resume();
      await nextEvent(client, 'connect');
      client.write(Buffer.alloc(8_000_000, 'u'));
      const report = await within(reports[0]!, 10_000, 'the report');
      // AF_UNIX has no abortive close: the close is plain, and the kernel resets it all the same.
      expect(report).toMatchObject({ reason: 'drain-limit', closedWith: 'reset' });
      expect(report.unreadBytes).toBeGreaterThan(0);
      await nextEvent(client, 'close', 10_000, 'ignore');
      expect(['ECONNRESET', 'EPIPE']).toContain(failure);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lingeringClose arguments', () => {
  it('rejects what is not a socket, bad options, and closed or unconnected sockets', async () => {
    await expect(lingeringClose(42 as unknown as net.Socket)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    const client = new net.Socket();
    await expect(lingeringClose(client)).rejects.toMatchObject({ code: 'ERR_SOCKCLOSE_NO_FD' });
    client.destroy();
    await expect(lingeringClose(client)).rejects.toMatchObject({ code: 'ERR_SOCKCLOSE_CLOSED' });

    const server = await listen(net.createServer((socket) => socket.on('error', () => {})));
    cleanups.add(() => closeServer(server));
    const connected = net.connect(portOf(server), '127.0.0.1');
    await nextEvent(connected, 'connect');
    await expect(lingeringClose(connected, { idleTimeout: -1 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE', name: 'RangeError' });
    await expect(lingeringClose(connected, { maxTimeout: 1.5 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(lingeringClose(connected, { maxDrainBytes: '1' as unknown as number })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      name: 'TypeError',
    });
    await expect(lingeringClose(connected, { onTimeout: 'later' as 'close' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(lingeringClose(connected, null as unknown as object)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    // None of that touched the socket.
    expect(connected.destroyed).toBe(false);
    connected.destroy();
  });
});
