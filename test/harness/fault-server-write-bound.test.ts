// A client that never reads, and a response larger than the socket buffers (a few MB on loopback):
// Node never hands the whole response to the kernel, so the server's wait on its write (and on
// end() behind it) would last until the client left, and the fault would never come. timeoutMs
// bounds those waits: the step says 'timeout', the behaviour goes on to its fault, and the
// connection is reported. Without the bound no report comes for such a client: the tests of one
// fail on their wait for it. The last tests: the bound changes nothing for a client that reads,
// and its timer never keeps a process alive.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { CloseObservation, FaultConnectionReport, FaultServerOptions } from '../../lib/harness/index.js';
import { root } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { harness } from './load.js';
import { boundedFaultServer, Cleanup, halfClosedClient, nextReport, nonReader, stepOf, steps } from './util.js';

const { createFaultServer } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const RESPONSE = 32 * 1024 * 1024;
const TIMEOUT_MS = 300;
// Each test's own bound: a few bounded waits of TIMEOUT_MS each, far under vitest's minute.
const TEST_MS = 8000;
// The report's: every bounded wait of a behaviour in turn, with room to spare.
const REPORT_MS = 5000;


const faultServer = (options: FaultServerOptions) => boundedFaultServer(cleanup, options, TIMEOUT_MS, REPORT_MS);


/** The client reads what it holds, then learns how the server ended the connection. */
async function readToEnd({ client, closed }: { client: net.Socket; closed: Promise<CloseObservation> }): Promise<CloseObservation> {
  client.resume();
  return closed;
}

/** The 'wrote' step of a write the client held: timed out after TIMEOUT_MS, with part of it still in Node. */
function expectWriteTimedOut(report: FaultConnectionReport, bytes: number): void {
  const wrote = stepOf(report, 'wrote')!;
  expect(wrote.detail).toEqual({ bytes, result: 'timeout', queuedBytes: expect.any(Number) });
  // The kernel took some (its buffers), Node kept the rest: the count is of what never left Node.
  expect(wrote.detail!.queuedBytes).toBeGreaterThan(0);
  expect(wrote.detail!.queuedBytes).toBeLessThan(bytes);
}

describe('fault server, a client that never reads a response larger than the socket buffers', () => {
  it(
    "close-with-unread: the write's wait ends after timeoutMs, the close still resets, the client sees ECONNRESET",
    async () => {
      const { server, report } = await faultServer({ behavior: 'close-with-unread', responseBytes: RESPONSE, awaitRequest: true });
      const client = await nonReader(cleanup, server.port, 'x', REPORT_MS);
      const r = await report;
      expect(steps(r)).toEqual(['request', 'wrote', 'unread-input', 'close']);
      expectWriteTimedOut(r, RESPONSE);
      expect(stepOf(r, 'unread-input')!.detail).toMatchObject({ result: 'met', unreadBytes: 1 });
      expect(r.observation.local).toBe('rst');
      // What the close discarded: never the whole response (Node's writableLength said 32 MiB).
      expect(r.observation.bytes.queuedAtClose).toBeGreaterThan(0);
      expect(r.observation.bytes.queuedAtClose).toBeLessThan(RESPONSE);
      const seen = await readToEnd(client);
      expect(seen).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
      expect(seen.bytes.received).toBeLessThan(RESPONSE);
    },
    TEST_MS,
  );

  it(
    'reset-after-bytes with more bytes than the buffers hold: the write and the acknowledgement each wait timeoutMs, then the reset',
    async () => {
      const { server, report } = await faultServer({ behavior: 'reset-after-bytes', responseBytes: RESPONSE, bytes: RESPONSE, awaitRequest: true });
      const client = await nonReader(cleanup, server.port, 'x', REPORT_MS);
      const r = await report;
      expect(steps(r)).toEqual(['request', 'wrote', 'acknowledged', 'reset']);
      expectWriteTimedOut(r, RESPONSE);
      expect(stepOf(r, 'acknowledged')!.detail).toEqual({ result: 'timeout' });
      expect(await readToEnd(client)).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    },
    TEST_MS,
  );

  it(
    'fin-then-reset with delayMs: end() behind the queued bytes waits timeoutMs too; the reset still comes (the FIN never got out)',
    async () => {
      const { server, report } = await faultServer({ behavior: 'fin-then-reset', responseBytes: RESPONSE, delayMs: 100, awaitRequest: true });
      const client = await nonReader(cleanup, server.port, 'x', REPORT_MS);
      const r = await report;
      expect(steps(r)).toEqual(['request', 'wrote', 'fin', 'fin-sent', 'reset']);
      expectWriteTimedOut(r, RESPONSE);
      const fin = stepOf(r, 'fin')!;
      expect(fin.detail).toEqual({ result: 'timeout', queuedBytes: expect.any(Number) });
      expect(fin.detail!.queuedBytes).toBeGreaterThan(0);
      expect(stepOf(r, 'fin-sent')!.detail).toEqual({ result: 'timeout' });
      // The FIN waited behind the bytes Node held: the client gets the RST alone.
      expect(await readToEnd(client)).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    },
    TEST_MS,
  );

  it(
    'fin-then-reset without delayMs: the write and the wait for every byte to leave run out, then FIN and RST',
    async () => {
      const { server, report } = await faultServer({ behavior: 'fin-then-reset', responseBytes: RESPONSE, awaitRequest: true });
      const client = await nonReader(cleanup, server.port, 'x', REPORT_MS);
      const r = await report;
      expect(steps(r)).toEqual(['request', 'wrote', 'all-sent', 'fin', 'reset']);
      expectWriteTimedOut(r, RESPONSE);
      expect(stepOf(r, 'all-sent')!.detail).toEqual({ result: 'timeout' });
      expect(await readToEnd(client)).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    },
    TEST_MS,
  );

  it(
    "server.close() ends a write's wait at once (timeoutMs a minute): reported, with no 'wrote' step",
    async () => {
      const server = cleanup.add(await createFaultServer({ behavior: 'close-with-unread', responseBytes: RESPONSE, timeoutMs: 60_000 }));
      const report = nextReport<FaultConnectionReport>(server, REPORT_MS);
      const accepted = nextEvent<[number, net.Socket]>(server, 'connection', 5000);
      await nonReader(cleanup, server.port, 'x', REPORT_MS);
      const [, socket] = await accepted;
      // The response is being written (the write is under way, Node holds what the kernel did not take).
      await until(() => socket.writableLength > 0, 5000, 'the response to be queued');
      await within(server.close(), 2000, 'server.close()');
      const r = await report;
      // Aborted as delayMs is: the behaviour stops there, and that is no error.
      expect(steps(r)).toEqual([]);
    },
    TEST_MS,
  );
});

describe('fault server, a client that reads', () => {
  it(
    "a large response read in full: the 'wrote' step is as it always was, { bytes }",
    async () => {
      const bytes = 16 * 1024 * 1024;
      // timeoutMs well above what reading 16 MiB on loopback takes, even on a loaded machine.
      const { server, report } = await faultServer({ behavior: 'half-close', responseBytes: bytes, timeoutMs: 5000 });
      const { closed } = await halfClosedClient(server.port);
      const r = await report;
      expect(steps(r)).toEqual(['wrote', 'fin', 'peer-eof']);
      expect(stepOf(r, 'wrote')!.detail).toEqual({ bytes });
      expect(stepOf(r, 'fin')!.detail).toBeUndefined();
      expect(await closed).toMatchObject({ peer: 'fin', kernelError: null, bytes: { received: bytes } });
    },
    TEST_MS,
  );
});

// What a script sees: the bound's timer must not keep the process alive once the connections and
// the server are closed. Each run's timeoutMs is ten minutes; the process must exit within seconds.
const SCRIPT = `
const net = require('node:net');
const { createFaultServer } = require(process.argv[1]);
const mode = process.argv[2];
(async () => {
  const server = await createFaultServer({ behavior: 'close-with-unread', responseBytes: ${RESPONSE}, timeoutMs: 600000 });
  const client = net.connect({ port: server.port, host: '127.0.0.1' });
  client.on('error', () => {});
  if (mode === 'reads') client.resume();
  else client.pause();
  client.write('x');
  server.on('connection', (id, socket) => {
    // 'leaves': the client resets once the response is under way and held (the write fails).
    // Looked for every 5 ms, 1,000 times at most: then the script fails, saying so.
    let looks = 0;
    const look = () => {
      if (socket.writableLength > 0) client.resetAndDestroy();
      else if (++looks < 1000) setTimeout(look, 5);
      else {
        process.stderr.write('the response never queued up in Node in 5 s');
        process.exit(3);
      }
    };
    if (mode === 'leaves') look();
  });
  const [report] = await require('node:events').once(server, 'report');
  client.destroy();
  await server.close();
  process.stdout.write(JSON.stringify(report.steps));
})();
`;

describe('fault server, the bound and the process', () => {
  it.each([
    ['reads', { bytes: RESPONSE }],
    // The write that meets the reset is named by it; one after it would say EPIPE.
    ['leaves', { bytes: RESPONSE, error: expect.stringMatching(/^(ECONNRESET|EPIPE)$/) }],
  ])(
    "a client that %s: the process exits once all is closed, not after timeoutMs (ten minutes)",
    async (mode, wrote) => {
      const child = spawn(process.execPath, ['-e', SCRIPT, path.join(root, 'lib', 'harness', 'index.js'), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = nextEvent<[number | null, string | null]>(child, 'exit', 6000).catch((error: Error) => {
        child.kill();
        throw error;
      });
      const [code] = await exited;
      expect(code, stderr).toBe(0);
      const reported = JSON.parse(stdout) as Array<{ step: string; detail?: Record<string, unknown> }>;
      expect(reported.find((s) => s.step === 'wrote')?.detail).toMatchObject(wrote);
    },
    TEST_MS,
  );
});
