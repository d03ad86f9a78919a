// enableLingeringClose() on a plain net.Server: every destroy() lingers, abortive closes stay
// abortive, and the returned function undoes it.
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';

const { enableLingeringClose, hardReset, setLinger } = sockclose;
type LingerReport = Parameters<NonNullable<NonNullable<Parameters<typeof enableLingeringClose>[1]>['onReport']>>[0];

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();

const PAYLOAD = Buffer.alloc(600_000, 'x');

/** A net server (never reading: the seed 004 server) with lingering close; `close` is how it ends each connection. */
async function server(close: (socket: net.Socket) => void, serverOptions: net.ServerOpts = { pauseOnConnect: true }) {
  const reports: LingerReport[] = [];
  const sockets: net.Socket[] = [];
  const srv = net.createServer(serverOptions, (socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    close(socket);
  });
  const disable = enableLingeringClose(srv, { onReport: (report) => reports.push(report) });
  await listen(srv);
  cleanups.add(() => closeServer(srv), disable);
  return { srv, port: portOf(srv), reports, sockets, disable };
}

describe('enableLingeringClose on a net.Server', () => {
  it('destroySoon(): the seed 004 response always arrives whole', async () => {
    const { port, reports, disable } = await server((socket) => {
      socket.write(PAYLOAD);
      socket.destroySoon();
    });
    for (let run = 0; run < 10; run++) {
      const seen = await peer.run({ port, steps: [{ send: 4 }, { recvEnd: true }] });
      expect(seen).toMatchObject({ received: 600_000, end: 'eof' });
    }
    await until(() => reports.length === 10, 5000, 'ten reports');
    expect(reports.every((report) => report.reason === 'eof' && report.drainedBytes === 4)).toBe(true);
    expect(disable.stats().reasons.eof).toBe(10);
  });

  it('destroy() right after write(): what Node handed libuv is still delivered, then FIN', async () => {
    // 16 MB against a peer with a fixed 64 KiB receive buffer that reads nothing before destroy():
    // the kernel can take at most that plus our send buffer (4 MiB at most here), so libuv still
    // holds most of it at destroy(). (A peer reading from the start could keep up with the write:
    // one CI run saw all 16 MB taken by the kernel in all three attempts.)
    const big = Buffer.alloc(16 * 1024 * 1024, 'y');
    const queuedAtDestroy: number[] = [];
    let destroyed = () => {};
    const { port, reports } = await server((socket) => {
      socket.write(big);
      queuedAtDestroy.push(sockclose.inspectSocket(socket).nodeQueuedBytes ?? 0);
      socket.destroy();
      destroyed();
    });
    for (let run = 0; run < 3; run++) {
      const gone = new Promise<void>((resolve) => (destroyed = resolve));
      const seen = await peer.run(
        { port, rcvbuf: 64 * 1024, steps: [{ send: 4 }, { gate: 'destroyed' }, { recvEnd: true }] },
        { destroyed: () => within(gone, 5000, 'destroy()') },
      );
      expect(seen).toMatchObject({ received: big.length, end: 'eof' });
    }
    await until(() => reports.length === 3, 5000, 'three reports');
    expect(reports.map((report) => report.reason)).toEqual(['eof', 'eof', 'eof']);
    // The flush path was exercised every time: libuv still held bytes at destroy().
    expect(Math.min(...queuedAtDestroy)).toBeGreaterThan(0);
  });

  it("Node's own close after both ends finished (autoDestroy) ends the linger at once", async () => {
    const { port, reports } = await server(
      (socket) => {
        socket.resume();
        socket.once('end', () => socket.end('reply'));
      },
      { allowHalfOpen: false },
    );
    const seen = await peer.run({ port, steps: [{ send: 10 }, { shutdown: true }, { recvEnd: true }] });
    expect(seen).toMatchObject({ received: 5, end: 'eof' });
    await until(() => reports.length === 1, 5000, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'eof', drainedBytes: 0 });
  });

  it('hardReset(), resetAndDestroy() and SO_LINGER 0 still reset at once, without lingering', async () => {
    const closers: ((socket: net.Socket) => void)[] = [
      (socket) => hardReset(socket),
      (socket) => socket.resetAndDestroy(),
      (socket) => {
        setLinger(socket, 0);
        socket.destroy();
      },
      // Already ended (so not writable) when it is set: still a reset, and no FIN before it.
      (socket) => {
        socket.end();
        setLinger(socket, 0);
        socket.destroy();
      },
    ];
    for (const closer of closers) {
      const { port, reports, disable } = await server((socket) => {
        socket.write('hello', () => closer(socket));
      });
      const seen = await peer.run({ port, steps: [{ send: 4 }, { recvEnd: true }] });
      // The reset can beat the client's connect() or send() (it is that fast): any of them may
      // report it. A FIN before it would show as a clean end with no ECONNRESET anywhere. (Once
      // connect() or send() reported it, the error is consumed and the read after it returns 0:
      // an end of 'eof' then is no FIN; seen once on Node 26.10 in CI.)
      expect([seen.connectError, seen.sendError, seen.end]).toContain('ECONNRESET');
      expect(reports).toHaveLength(0);
      expect(disable.stats().lingering).toBe(0);
    }
  });

  it('hardReset() of a half-closed socket resets at once and gives its place in the pool back', async () => {
    let serverSide: net.Socket | undefined;
    const { port, reports, disable } = await server((socket) => {
      serverSide = socket;
      socket.end('hello'); // the peer never sends its FIN: the close has begun, counted
    });
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    client.resume();
    await nextEvent(client, 'end');
    await until(() => disable.stats().lingering === 1, 5000, 'the half-closed socket to be counted');
    const closed = nextEvent(serverSide!, 'close');
    hardReset(serverSide!);
    await closed;
    expect(disable.stats()).toMatchObject({ lingering: 0, resets: 0 });
    expect(Object.values(disable.stats().reasons).every((count) => count === 0)).toBe(true);
    expect(reports).toHaveLength(0);
    // The reset reached the client: its next write fails.
    client.write('x');
    await expect(nextEvent(client, 'error')).resolves.toMatchObject([expect.objectContaining({ code: expect.stringMatching(/ECONNRESET|EPIPE/) })]);
    client.destroy();
  });

  it('a connection open before enableLingeringClose() lingers too when it closes afterwards', async () => {
    const sockets: net.Socket[] = [];
    const srv = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      sockets.push(socket);
    });
    await listen(srv);
    const reports: LingerReport[] = [];
    let disable: ReturnType<typeof enableLingeringClose> | undefined;
    cleanups.add(() => closeServer(srv), () => disable?.());
    const client = net.connect({ port: portOf(srv), host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    client.resume();
    await until(() => sockets.length === 1, 5000, 'the connection');
    disable = enableLingeringClose(srv, { onReport: (report) => reports.push(report) });
    client.write('unread'); // the server never reads it: a plain close would reset
    sockets[0]!.write('hello', () => sockets[0]!.destroy());
    await nextEvent(client, 'end');
    expect(disable.stats().lingering).toBe(1);
    client.end();
    await until(() => reports.length === 1, 5000, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'eof', closedWith: 'close' });
  });

  it('the returned function undoes it: sockets close as Node closes them, none lingers', async () => {
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { port, reports, sockets, disable } = await server((socket) => {
      socket.write('hello');
      void held.then(() => socket.destroy());
    });
    const before = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    before.on('error', () => {});
    before.resume();
    await nextEvent(before, 'data');
    disable();
    const after = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    after.on('error', () => {});
    after.resume();
    await nextEvent(after, 'data');
    // Nothing is added to a socket, before or after: lingering close finds sockets through their server.
    for (const socket of sockets) expect(Object.keys(socket).filter((key) => ['destroy', '_destroy', '_final'].includes(key))).toEqual([]);
    const serverSidesClosed = Promise.all(sockets.map((socket) => nextEvent(socket, 'close', 5000, 'ignore')));
    release!();
    // Neither lingers: both close at once although the clients keep their side open.
    await Promise.all([nextEvent(before, 'end'), nextEvent(after, 'end'), serverSidesClosed]);
    expect(reports).toHaveLength(0);
    expect(disable.stats().lingering).toBe(0);
    before.destroy();
    after.destroy();
    // Calling it again is harmless, and lingering close can be enabled anew.
    disable();
    enableLingeringClose(new net.Server())();
  });

  it('rejects bad arguments, and a second enable on the same server', () => {
    expect(() => enableLingeringClose({} as net.Server)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const srv = new net.Server();
    expect(() => enableLingeringClose(srv, { maxLingering: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => enableLingeringClose(srv, { shortLingerAbove: 5, maxLingering: 4 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => enableLingeringClose(srv, { onReport: 'yes' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    // As Node's validateObject(): an array is no options object.
    expect(() => enableLingeringClose(srv, [] as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' }));
    const disable = enableLingeringClose(srv);
    expect(() => enableLingeringClose(srv)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/\. Received an instance of Server$/) }),
    );
    disable();
  });
});

describe('enableLingeringClose and sockets handed from server to server', () => {
  /** A client that sends `request`, reads to the server's FIN, then ends: a linger there ends 'eof'. */
  async function client(port: number, request: string): Promise<string> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => {});
    cleanups.add(() => socket.destroy());
    socket.setEncoding('utf8');
    let received = '';
    socket.on('data', (chunk: string) => (received += chunk));
    socket.write(request);
    await nextEvent(socket, 'end', 5000);
    socket.end();
    return received;
  }

  it('a net server handing its sockets to an http server: the server that accepted them lingers them', async () => {
    // http sets `socket.server` to itself on every socket it is given: the accepting server is found all the same.
    const web = http.createServer((_request, response) => response.writeHead(200, { Connection: 'close' }).end('served'));
    const front = net.createServer((socket) => web.emit('connection', socket));
    const reports: LingerReport[] = [];
    const disable = enableLingeringClose(front, { onReport: (report) => reports.push(report) });
    await listen(front);
    cleanups.add(() => closeServer(front), disable);
    for (let run = 0; run < 3; run++) {
      expect(await client(portOf(front), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).toContain('served');
    }
    await until(() => reports.length === 3, 5000, 'three reports');
    expect(reports.map((report) => report.reason)).toEqual(['eof', 'eof', 'eof']);
    expect(disable.stats().reasons.eof).toBe(3);
  });

  it("a net server given sockets it did not accept (emit('connection')) lingers them; disable() takes its listener off", async () => {
    const target = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.resume();
      socket.end('hello');
    });
    const before = target.listenerCount('connection');
    const reports: LingerReport[] = [];
    const disable = enableLingeringClose(target, { onReport: (report) => reports.push(report) });
    const front = net.createServer((socket) => target.emit('connection', socket));
    await listen(front);
    cleanups.add(() => closeServer(front), disable);
    for (let run = 0; run < 3; run++) expect(await client(portOf(front), 'hi')).toBe('hello');
    await until(() => reports.length === 3, 5000, 'three reports');
    expect(reports.map((report) => report.reason)).toEqual(['eof', 'eof', 'eof']);
    expect(disable.stats().reasons.eof).toBe(3);
    expect(target.listenerCount('connection')).toBe(before + 1);
    disable();
    expect(target.listenerCount('connection')).toBe(before);
    // Given after disable(): closes as Node closes it, no linger.
    expect(await client(portOf(front), 'hi')).toBe('hello');
    expect(reports).toHaveLength(3);
  });
});

describe('without the native binary', () => {
  it('enableLingeringClose throws and lingeringClose rejects ERR_SOCKCLOSE_UNSUPPORTED, naming why', async () => {
    const script = `
      const net = require('node:net');
      const { enableLingeringClose, lingeringClose } = require(${JSON.stringify(path.join(root, 'lib', 'index.js'))});
      const codes = {};
      try { enableLingeringClose(new net.Server()); } catch (error) { codes.enable = error.code + ' ' + error.reason; }
      const server = net.createServer((socket) => {
        lingeringClose(socket).catch((error) => {
          codes.close = error.code;
          socket.destroy();
          server.close();
          console.log(JSON.stringify(codes));
        });
      }).listen(0, '127.0.0.1', () => net.connect(server.address().port, '127.0.0.1').on('error', () => {}));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      env: { ...process.env, SOCKCLOSE_BINARY: path.join(root, 'no-such-binary.node') },
      timeout: 20_000,
    });
    const codes = JSON.parse(stdout) as { enable: string; close: string };
    expect(codes.enable).toMatch(/^ERR_SOCKCLOSE_UNSUPPORTED .*no-such-binary/);
    expect(codes.close).toBe('ERR_SOCKCLOSE_UNSUPPORTED');
  });
});

