// A client that leaves while a behaviour waits out delayMs: the wait ends at once, the connection
// is reported right away with how the peer left, and nothing is sent to it afterwards. The delay is
// a minute, so a server that waited it out would fail every test here on the report's timeout.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { CloseObservation, FaultConnectionReport, FaultServer, FaultServerOptions } from '../../lib/harness/index.js';
import { harness } from './load.js';
import { Cleanup, halfClosedClient, nextReport } from './util.js';
import { nextEvent, within } from '../helpers/wait.js';

const { createFaultServer, observeClose } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const MINUTE = 60_000;
// Each test's own bound: well under the delay, above nextReport's 10 s.
const TEST_MS = 15_000;

interface Connected {
  server: FaultServer;
  report: Promise<FaultConnectionReport>;
  client: net.Socket;
  clientSide: Promise<CloseObservation>;
  /** The server's socket for the client, once accepted. */
  accepted: net.Socket;
}

/** A server delaying a minute, and one client whose connection it has accepted. */
async function connect(options: Omit<FaultServerOptions, 'delayMs'>, allowHalfOpen = false): Promise<Connected> {
  const server = cleanup.add(await createFaultServer({ ...options, delayMs: MINUTE }));
  const report = nextReport<FaultConnectionReport>(server);
  const acceptedEvent = nextEvent<[number, net.Socket]>(server, 'connection', 5000);
  const client = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen });
  const clientSide = within(observeClose(client), 10_000, 'the client socket to close');
  // Not every test awaits the client's side: its timeout must not surface as an unhandled rejection.
  clientSide.catch(() => {});
  const [, accepted] = await acceptedEvent;
  if (client.connecting) await nextEvent(client, 'connect', 5000);
  return { server, report, client, clientSide, accepted };
}

/** The report arrives while the delay still runs, the connection is no longer counted, close() is prompt. */
async function reportedEarly({ server, report }: Connected): Promise<FaultConnectionReport> {
  const r = await report;
  expect(server.activeConnections).toBe(0);
  expect(server.reports).toHaveLength(1);
  await within(server.close(), 2000, 'server.close()');
  return r;
}

const steps = (report: FaultConnectionReport) => report.steps.map((s) => s.step);

describe('fault server, the peer leaves during delayMs', () => {
  it(
    'reset-on-accept: a half-closed client is no departure (it may still read): the reset still comes after delayMs',
    async () => {
      const server = cleanup.add(await createFaultServer({ behavior: 'reset-on-accept', delayMs: 300 }));
      const report = nextReport<FaultConnectionReport>(server);
      const { closed } = await halfClosedClient(server.port);
      const r = await report;
      expect(steps(r)).toEqual(['reset']);
      // After delayMs (300), not at the half-close: a lower bound, with room for a timer that fires
      // on a loop time a few milliseconds stale.
      expect(r.steps[0]!.atMs).toBeGreaterThanOrEqual(250);
      expect(await closed).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    },
    TEST_MS,
  );

  it(
    'reset-on-accept: a client that resets ends the wait; the server sends nothing more',
    async () => {
      const connected = await connect({ behavior: 'reset-on-accept' });
      expect(connected.server.activeConnections).toBe(1);
      connected.client.resetAndDestroy();
      const r = await reportedEarly(connected);
      expect(steps(r)).toEqual(['peer-left']);
      expect(r.steps[0]!.detail).toEqual({ end: 'rst', state: 'CLOSE', error: 'ECONNRESET' });
      // 'none': the server's close put nothing on the wire (the connection was already gone).
      expect(r.observation).toMatchObject({ initiator: 'peer', peer: 'rst', local: 'none', kernelError: 'ECONNRESET' });
      expect(await connected.clientSide).toMatchObject({ local: 'rst' });
    },
    TEST_MS,
  );

  it(
    "slow-close: a client that resets after its FIN ends the wait; no FIN follows (the kernel's EPIPE)",
    async () => {
      const connected = await connect({ behavior: 'slow-close' }, true);
      // The delay starts once the server has read the client's FIN.
      const serverEof = nextEvent(connected.accepted, 'end', 5000);
      connected.client.end('ping');
      await serverEof;
      connected.client.resetAndDestroy();
      const r = await reportedEarly(connected);
      expect(steps(r)).toEqual(['peer-eof', 'peer-left']);
      expect(r.steps[1]!.detail).toEqual({ end: 'fin-rst', state: 'CLOSE', error: 'EPIPE' });
      expect(r.observation).toMatchObject({ initiator: 'peer', peer: 'fin-rst', local: 'none', kernelError: 'EPIPE' });
    },
    TEST_MS,
  );

  it(
    'fin-then-reset: a client that answers the FIN ends the wait; the RST is not sent to a closed connection',
    async () => {
      // Node's client (allowHalfOpen false) answers the server's FIN with its own: the connection is over.
      const connected = await connect({ behavior: 'fin-then-reset', responseBytes: 100 });
      connected.client.resume();
      expect(await connected.clientSide).toMatchObject({ peer: 'fin', local: 'fin', kernelError: null, bytes: { received: 100 } });
      const r = await reportedEarly(connected);
      expect(steps(r)).toEqual(['wrote', 'fin', 'fin-sent', 'peer-left']);
      expect(r.steps[3]!.detail).toEqual({ end: 'fin', state: 'CLOSE', error: null });
      expect(r.observation).toMatchObject({ initiator: 'local', peer: 'fin', local: 'fin', kernelError: null });
    },
    TEST_MS,
  );

  it(
    'a client that stays: server.close() still ends the wait, with no peer-left step',
    async () => {
      const connected = await connect({ behavior: 'reset-on-accept' });
      await within(connected.server.close(), 2000, 'server.close()');
      const r = await connected.report;
      expect(steps(r)).toEqual([]);
      expect(connected.server.activeConnections).toBe(0);
    },
    TEST_MS,
  );
});

describe('fault server, many connections waiting at once', () => {
  it(
    'fifteen clients in delayMs at once: no MaxListenersExceededWarning (each wait listens to the server closing)',
    async () => {
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(warning.name);
      process.on('warning', onWarning);
      try {
        const server = cleanup.add(await createFaultServer({ behavior: 'reset-on-accept', delayMs: 300 }));
        let reports = 0;
        server.on('report', () => reports++);
        const clients = Array.from({ length: 15 }, () => {
          const client = net.connect({ port: server.port, host: '127.0.0.1' });
          client.on('error', () => {});
          client.resume();
          return client;
        });
        await within(
          new Promise<void>((resolve) => server.on('report', () => reports === 15 && resolve())),
          10_000,
          'fifteen reports',
        );
        clients.forEach((client) => client.destroy());
        // A warning is emitted on the next tick of the process: let one pass.
        await new Promise((resolve) => setImmediate(resolve));
        expect(warnings).not.toContain('MaxListenersExceededWarning');
      } finally {
        process.off('warning', onWarning);
      }
    },
    TEST_MS,
  );
});
