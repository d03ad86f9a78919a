// Two copies of sockclose in one application (two installs, one a dependency's): each has its own
// modules, hooks on net.Socket.prototype and native lingerer. A socket must still linger once: one
// hand-over, one report, counted in one copy's stats. Real loopback sockets, judged by a
// kernel-level client (what recv()/send() returned) and by both copies' counters.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { copyOfPackage } from '../helpers/package-copy.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { within } from '../helpers/wait.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';

type Sockclose = typeof sockclose;
type LingerReport = Awaited<ReturnType<Sockclose['lingeringClose']>>;
type Stats = ReturnType<Sockclose['lingeringCloseStats']>;

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();

const RESPONSE = 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 9\r\n\r\ntoo large';
const UPLOAD = 1_000_000;
const RUNS = 3;

let copyDir = '';
let other: Sockclose;
beforeAll(() => {
  // A binary file of its own, as a second install has: the loader gives it its own native state.
  copyDir = copyOfPackage('sockclose-two-', sockclose.capabilities().binary!);
  // The loader reads SOCKCLOSE_BINARY (set by the cmake-js and sanitizer runs) when the binary is
  // first needed: capabilities() loads it here, while the variable is unset.
  const explicit = process.env.SOCKCLOSE_BINARY;
  delete process.env.SOCKCLOSE_BINARY;
  let capabilities: ReturnType<Sockclose['capabilities']>;
  try {
    other = createRequire(import.meta.url)(path.join(copyDir, 'lib', 'index.js')) as Sockclose;
    capabilities = other.capabilities();
  } finally {
    if (explicit !== undefined) process.env.SOCKCLOSE_BINARY = explicit;
  }
  expect(capabilities).toMatchObject({ native: true, binary: path.join(copyDir, 'build', 'Release', 'sockclose.node') });
  expect(other.lingeringClose).not.toBe(sockclose.lingeringClose);
});
afterAll(() => fs.rmSync(copyDir, { recursive: true, force: true }));

// Each scenario both ways round: which copy's hooks run outermost is fixed by the first use in
// this process, so swapping the roles covers both.
const ORDERS: [string, () => Sockclose, () => Sockclose][] = [
  ['this copy first', () => sockclose, () => other],
  ['the other copy first', () => other, () => sockclose],
];

/** Lingers counted in `stats` (every reason). */
function total(stats: Stats): number {
  return Object.values(stats.reasons).reduce((sum, count) => sum + count, 0);
}

/** Reports as they arrive, and a wait for the n-th (each wait fails loudly on its timeout). */
function reportLog(): { seen: LingerReport[]; onReport: (report: LingerReport) => void; count: (n: number) => Promise<void> } {
  const seen: LingerReport[] = [];
  let wake: (() => void) | null = null;
  return {
    seen,
    onReport: (report) => {
      seen.push(report);
      wake?.();
    },
    // Bounded: each turn either sees a new report or times out.
    count: async (n) => {
      while (seen.length < n) await within(new Promise<void>((resolve) => (wake = resolve)), 10_000, `report ${seen.length + 1} of ${n}`);
    },
  };
}

/**
 * A net server of `first`'s, under its lingering close, that hands every socket to `inner`, under
 * `second`'s: the protocol-sniffing front. Listening; closed after the test.
 */
async function frontedBy(first: Sockclose, second: Sockclose, inner: net.Server) {
  const outer = net.createServer((socket) => inner.emit('connection', socket));
  const outerLog = reportLog();
  const innerLog = reportLog();
  const outerControl = first.enableLingeringClose(outer, { onReport: outerLog.onReport });
  const innerControl = second.enableLingeringClose(inner, { onReport: innerLog.onReport });
  cleanups.add(() => closeServer(outer), outerControl, innerControl);
  await listen(outer);
  return { outer, outerLog, innerLog, outerControl, innerControl };
}

/** The client of every scenario: sends bytes the server never reads, reads the answer to its end. */
async function uploadAndRead(port: number, head = ''): Promise<void> {
  const steps = head ? [{ sendText: head }, { send: UPLOAD }, { recvEnd: true as const }] : [{ send: UPLOAD }, { recvEnd: true as const }];
  const seen = await peer.run({ port, steps });
  // The answer whole, then our FIN: no RST threw it away.
  expect(seen).toMatchObject({ end: 'eof', sendError: null, connectError: null });
  expect(seen.head).toMatch(/^HTTP\/1\.1 413 [^]*too large$/);
}

/** A plain net server that never reads (seed 004), answering each connection with `answer`. */
async function silentServer(answer: (socket: net.Socket) => void): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ pauseOnConnect: true }, answer);
  await listen(server);
  cleanups.add(() => closeServer(server));
  return { server, port: portOf(server) };
}

describe('two copies of sockclose in one application', () => {
  describe.each(ORDERS)('%s', (_order, firstOf, secondOf) => {
    it('both enable on one http server: the second is refused (ERR_INVALID_ARG_VALUE), and each early 413 lingers once, in the first', async () => {
      const [first, second] = [firstOf(), secondOf()];
      const server = http.createServer((_req, res) => {
        res.writeHead(413, { Connection: 'close', 'Content-Length': 9 });
        res.end('too large'); // the body is never read
      });
      const log = reportLog();
      const control = first.enableLingeringClose(server, { onReport: log.onReport });
      cleanups.add(() => closeServer(server), control);
      expect(() => second.enableLingeringClose(server)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('another copy of sockclose') }),
      );
      await listen(server);
      const secondBefore = total(second.lingeringCloseStats());

      for (let run = 0; run < RUNS; run++) {
        await uploadAndRead(portOf(server), `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${UPLOAD}\r\n\r\n`);
      }
      await log.count(RUNS);
      await within(control.drained(), 10_000, 'the lingers to end');
      expect(log.seen.map((report) => report.reason)).toEqual(Array(RUNS).fill('eof'));
      expect(total(control.stats())).toBe(RUNS);
      expect(total(second.lingeringCloseStats())).toBe(secondBefore);

      // Undone in the first copy, the server is free for the second.
      control();
      const secondControl = second.enableLingeringClose(server);
      cleanups.add(secondControl);
      await uploadAndRead(portOf(server), `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${UPLOAD}\r\n\r\n`);
      await within(secondControl.drained(), 10_000, 'the second copy to linger');
      expect(total(secondControl.stats())).toBe(1);
      expect(total(control.stats())).toBe(RUNS);
    });

    it.each([
      ['before its close began', false],
      ['once its close began (half-closed)', true],
    ])("lingeringClose() from the second copy on a socket of the first copy's server (%s) is the first copy's close: one report, counted once", async (_when, halfClosed) => {
      const [first, second] = [firstOf(), secondOf()];
      const calls: Promise<LingerReport>[] = [];
      const { server, port } = await silentServer((socket) => {
        if (!halfClosed) {
          socket.write(RESPONSE);
          calls.push(second.lingeringClose(socket));
          return;
        }
        // Our FIN out: the first copy's half-closed watch has the socket (a turn after 'finish').
        socket.end(RESPONSE);
        calls.push(new Promise((resolve, reject) => socket.once('finish', () => setImmediate(() => second.lingeringClose(socket).then(resolve, reject)))));
      });
      const log = reportLog();
      const control = first.enableLingeringClose(server, { onReport: log.onReport });
      cleanups.add(control);
      const before = { first: total(first.lingeringCloseStats()), second: total(second.lingeringCloseStats()) };

      for (let run = 0; run < RUNS; run++) await uploadAndRead(port);
      const reports = await within(Promise.all(calls), 10_000, 'the second copy’s calls');
      await log.count(RUNS);
      await within(control.drained(), 10_000, 'the lingers to end');
      expect(total(control.stats())).toBe(RUNS);
      expect(total(first.lingeringCloseStats())).toBe(before.first + RUNS);
      expect(total(second.lingeringCloseStats())).toBe(before.second);
      // The very reports the first copy gave its server's listener: one linger each. Not in call
      // order: a linger can end (and be reported) before the one of the run before it.
      expect(reports).toHaveLength(RUNS);
      expect(new Set(reports).size).toBe(RUNS);
      reports.forEach((report) => expect(log.seen).toContain(report));
      expect(reports.map((report) => report.reason)).toEqual(Array(RUNS).fill('eof'));
    });

    it('both copies call lingeringClose() on one socket: one close, the same report for both, counted in the first', async () => {
      const [first, second] = [firstOf(), secondOf()];
      const calls: [Promise<LingerReport>, Promise<LingerReport>][] = [];
      const { port } = await silentServer((socket) => {
        socket.write(RESPONSE);
        calls.push([first.lingeringClose(socket), second.lingeringClose(socket)]);
      });
      const before = { first: total(first.lingeringCloseStats()), second: total(second.lingeringCloseStats()) };

      for (let run = 0; run < RUNS; run++) await uploadAndRead(port);
      expect(calls).toHaveLength(RUNS);
      const settled = await within(Promise.all(calls.map((pair) => Promise.all(pair))), 10_000, 'both calls');
      expect(total(first.lingeringCloseStats())).toBe(before.first + RUNS);
      expect(total(second.lingeringCloseStats())).toBe(before.second);
      expect(first.lingeringCloseStats().lingering).toBe(0);
      for (const [report, shared] of settled) {
        expect(shared).toBe(report);
        expect(report.reason).toBe('eof');
      }
    });

    it("a socket the first copy's net server hands to the second copy's http server lingers once", async () => {
      const [first, second] = [firstOf(), secondOf()];
      const inner = http.createServer((_req, res) => {
        res.writeHead(413, { Connection: 'close', 'Content-Length': 9 });
        res.end('too large');
      });
      const { outer, outerLog, innerLog, outerControl, innerControl } = await frontedBy(first, second, inner);

      for (let run = 0; run < RUNS; run++) {
        await uploadAndRead(portOf(outer), `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${UPLOAD}\r\n\r\n`);
      }
      await within(Promise.all([outerControl.drained(), innerControl.drained()]), 10_000, 'the lingers to end');
      // Whichever copy took each close, it was taken once.
      expect(total(outerControl.stats()) + total(innerControl.stats())).toBe(RUNS);
      expect(outerLog.seen.length + innerLog.seen.length).toBe(RUNS);
    });

    it("a socket the first copy's net server hands to the second copy's https server lingers once, as its TLSSocket", async () => {
      const [first, second] = [firstOf(), secondOf()];
      const { key, cert } = testCert();
      const inner = https.createServer({ key, cert }, (_req, res) => {
        res.writeHead(413, { Connection: 'close', 'Content-Length': 9 });
        res.end('too large');
      });
      const { outer, outerLog, innerLog, outerControl, innerControl } = await frontedBy(first, second, inner);

      for (let run = 0; run < RUNS; run++) {
        const seen = await peer.run({
          port: portOf(outer),
          tls: true,
          steps: [{ sendText: `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${UPLOAD}\r\n\r\n` }, { send: UPLOAD }, { recvEnd: true }],
        });
        expect(seen).toMatchObject({ end: 'eof', sendError: null, connectError: null });
        expect(seen.head).toMatch(/^HTTP\/1\.1 413 [^]*too large$/);
      }
      await within(Promise.all([outerControl.drained(), innerControl.drained()]), 10_000, 'the lingers to end');
      // The raw socket Node destroys after the TLSSocket's close is the same connection: taken once.
      expect(total(outerControl.stats()) + total(innerControl.stats())).toBe(RUNS);
      expect(outerLog.seen.length + innerLog.seen.length).toBe(RUNS);
    });
  });
});
