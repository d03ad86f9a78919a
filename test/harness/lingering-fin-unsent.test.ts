// A lingering close whose bound resets the connection while our FIN still waits behind bytes the
// peer never read (it does not read): the reset discards them and the FIN, so the FIN never left.
// The linger's report is the last look before that close; observeClose() said 'fin-rst' there,
// from the FIN_WAIT1 seen before the hand-over, while the peer got the RST alone ('rst',
// ECONNRESET). The lingerer now counts what of ours was still unsent when it reset (only with
// bytes of ours unacknowledged), and the verdict reads it. Found by review, on real sockets.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { CloseObservation, FaultConnectionReport } from '../../lib/harness/index.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, within } from '../helpers/wait.js';
import { harness } from './load.js';
import { boundedFaultServer, Cleanup, nonReader, stepOf } from './util.js';
import { judge, look, moments, node } from './verdict-looks.js';

const { enableLingeringClose } = sockclose;
const { observeClose } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

// Taken whole by the server's kernel (its send buffer grows to a few MB on loopback), so Node's
// flush ends and our FIN is handed over; far more than a client that does not read takes in (its
// receive buffer: ~128 KB at first).
const RESPONSE = 1_000_000;
const IDLE_MS = 200;
const REPORT_MS = 5000;
const TEST_MS = 10_000;

/**
 * The fault server's lingering close: RESPONSE bytes once the request arrives, then the linger,
 * idling out after IDLE_MS (its waits bounded at 300 ms); its next `report` within REPORT_MS.
 */
function lingeringFaultServer() {
  return boundedFaultServer(
    cleanup,
    { behavior: 'lingering-close', responseBytes: RESPONSE, lingerIdleMs: IDLE_MS, awaitRequest: true },
    300,
    REPORT_MS,
  );
}

/** The fault server's report: the linger idled out and closed the connection with a reset. */
function expectLingerIdledOutToReset(r: FaultConnectionReport): void {
  expect(stepOf(r, 'lingered')!.detail).toMatchObject({ reason: 'idle-timeout', closedWith: 'reset' });
}

/** The server's observation: our FIN was handed to the kernel behind unsent bytes, then the linger reset. */
function expectFinLostInLinger(o: CloseObservation): void {
  const atFinish = o.snapshots.find((s) => s.at === 'finish');
  expect(atFinish?.state, 'our FIN handed to the kernel before the hand-over').toBe('FIN_WAIT1');
  expect(atFinish!.unsentBytes).toBeGreaterThan(1);
  // The linger's report is the last look: a reset, with our bytes (the FIN among them) unsent.
  const last = o.snapshots[o.snapshots.length - 1]!;
  expect(last).toMatchObject({ at: 'final', state: null, closeWouldReset: true });
  expect(o.local).toBe('rst');
  expect(last.unsentBytes).toBeGreaterThan(0);
}

/** The client's observation: the RST alone, no EOF before it. */
function expectResetAlone(seen: CloseObservation): void {
  expect(seen).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
  expect(seen.bytes.received).toBeLessThan(RESPONSE);
}

describe('lingering close reset at a timeout with our FIN behind unsent bytes: local is rst', () => {
  it(
    "fault server's lingering-close (lingeringClose()), a client that does not read",
    async () => {
      const { server, report } = await lingeringFaultServer();
      const { client, closed } = await nonReader(cleanup, server.port, 'x', REPORT_MS);
      const r = await report;
      expectLingerIdledOutToReset(r);
      expectFinLostInLinger(r.observation);
      client.resume();
      expectResetAlone(await closed);
    },
    TEST_MS,
  );

  it(
    'enableLingeringClose() on a net server, a client that does not read',
    async () => {
      let observed: (o: Promise<CloseObservation>) => void = () => {};
      const serverSide = new Promise<Promise<CloseObservation>>((resolve) => (observed = resolve));
      const server = net.createServer((socket) => {
        observed(observeClose(socket));
        // The request byte first, then the response and Node's http close (end(), destroy() at
        // 'finish'): the destroy() hands the half-closed connection to the lingerer.
        socket.once('data', () => {
          socket.write(Buffer.alloc(RESPONSE, 'r'));
          socket.destroySoon();
        });
      });
      const disable = enableLingeringClose(server, { idleTimeout: IDLE_MS, maxTimeout: 5000 });
      cleanup.add({ close: () => new Promise((resolve) => server.close(resolve)) });
      server.listen(0, '127.0.0.1');
      await nextEvent(server, 'listening');
      const port = (server.address() as net.AddressInfo).port;
      const { client, closed } = await nonReader(cleanup, port, 'x', REPORT_MS);
      const o = await within(within(serverSide, REPORT_MS, 'the connection').then((p) => p), REPORT_MS, "the server socket's observation");
      expect(disable.stats().reasons['idle-timeout']).toBe(1);
      expectFinLostInLinger(o);
      client.resume();
      expectResetAlone(await closed);
    },
    TEST_MS,
  );

  it(
    "control: a client that reads everything and stays half-open gets the FIN, then the reset: 'fin-rst' both ways",
    async () => {
      const { server, report } = await lingeringFaultServer();
      // Reads everything, and never ends its side (no FIN of its own): the linger idles out.
      const client = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
      cleanup.add({ close: () => client.destroy() });
      const closed = within(observeClose(client), REPORT_MS, 'the client socket to close');
      await nextEvent(client, 'connect');
      client.write('x');
      client.resume();
      const r = await report;
      expectLingerIdledOutToReset(r);
      expect(r.observation.local).toBe('fin-rst');
      // Half-open after its EOF, it reads no more: nothing tells Node of the reset. Its close looks.
      client.destroy();
      expect(await closed).toMatchObject({ peer: 'fin-rst', kernelError: 'EPIPE', bytes: { received: RESPONSE } });
    },
    TEST_MS,
  );
});

describe("judge(): the linger's report as the last look", () => {
  const verdict = (unsent: number | null) =>
    judge(
      [
        look('finish', 9, { state: 'FIN_WAIT1', fin: false, unsent: 872_001 }),
        look('destroy', 10, { state: 'FIN_WAIT1', fin: false, unsent: 872_001 }),
        { ...look('final', 210, { state: null, fin: null, unsent, closeWouldReset: true, abortive: true }), unreadBytes: null },
      ],
      node({ finished: true, destroyedWithoutError: true }),
      moments({ finish: 9, destroy: 10 }),
    );

  it("bytes of ours unsent when the linger reset: the FIN never left, 'rst'", () => {
    expect(verdict(872_001).local).toBe('rst');
    expect(verdict(1).local).toBe('rst');
  });

  it("nothing unsent, or not counted: the FIN had left, 'fin-rst'", () => {
    expect(verdict(0).local).toBe('fin-rst');
    expect(verdict(null).local).toBe('fin-rst');
  });
});
