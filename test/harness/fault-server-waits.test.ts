// A client that leaves while a behaviour waits for it (a request byte, an acknowledgement: waits
// bounded by timeoutMs): the wait ends at once, as delayMs does (fault-server-delay.test.ts). The
// timeout is a minute, so a server that waited it out would fail every test here on the report's
// timeout. The clients are kernel-level (Python): a fixed, small window keeps bytes unacknowledged.
// Each client waits at a gate until the server's side shows what the test needs (the wait under
// way, bytes unacknowledged), never for a while.
import net from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { FaultConnectionReport, FaultServerOptions } from '../../lib/harness/index.js';
import { KernelPeer } from '../lingering/kernel-peer.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, untilSync, within } from '../helpers/wait.js';
import { harness } from './load.js';
import { Cleanup, halfClosedClient, nextReport } from './util.js';

const { createFaultServer } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());
let peer: KernelPeer;
beforeAll(() => {
  peer = new KernelPeer();
});
afterAll(() => peer.close());

const MINUTE = 60_000;
// Each test's own bound: well under the wait's timeout, above nextReport's 10 s.
const TEST_MS = 15_000;

const steps = (report: FaultConnectionReport) => report.steps.map((s) => s.step);
const detailOf = (report: FaultConnectionReport, name: string) => report.steps.find((s) => s.step === name)?.detail;

async function faultServer(options: Omit<FaultServerOptions, 'timeoutMs'>) {
  const server = cleanup.add(await createFaultServer({ ...options, timeoutMs: MINUTE }));
  // The accepted socket, as the server emits it right before it starts the behaviour on it.
  const accepted = nextEvent<[number, net.Socket]>(server, 'connection', 5000).then(([, socket]) => socket);
  // Not every test awaits it: a failure elsewhere must not surface as an unhandled rejection.
  accepted.catch(() => {});
  return { server, report: nextReport<FaultConnectionReport>(server), accepted };
}

/**
 * The server has handed all `bytes` to its kernel: write() is done, so the wait for their
 * acknowledgement is under way (it starts, and looks once, in the same turn), and some of them are
 * still unacknowledged (the peer's full window holds them).
 */
async function awaitingAcknowledgement(socket: net.Socket, bytes: number): Promise<void> {
  // The kernel may take the whole write at once: writableLength is 0 synchronously, while the
  // write's callback (a nextTick) and the wait after it come later in this same turn. Look from
  // the next turn on, after the wait's first look.
  await new Promise((resolve) => setImmediate(resolve));
  return until(
    () => {
      if (socket.destroyed || socket.bytesWritten < bytes || socket.writableLength > 0) return false;
      const { unackedBytes, sendQueueBytes } = sockclose.inspectSocket(socket);
      return (unackedBytes ?? sendQueueBytes ?? 0) > 0;
    },
    5000,
    `the server to wait for the acknowledgement of its ${bytes} bytes, some still unacknowledged`,
  );
}

describe('fault server, the peer leaves during a wait bounded by timeoutMs', () => {
  it(
    'awaitRequest: a client that resets before sending a byte ends the wait; the behaviour stops there',
    async () => {
      const { server, report, accepted } = await faultServer({ behavior: 'reset-after-bytes', awaitRequest: true });
      // The reset once the server has accepted the connection: its wait for a request byte starts
      // in the same turn as the 'connection' event.
      const seen = await peer.run(
        { port: server.port, steps: [{ gate: 'accepted' }, { reset: true }], timeoutMs: 5000 },
        { accepted: async () => void (await accepted) },
      );
      expect(seen.connectError).toBeNull();
      const r = await report;
      expect(steps(r)).toEqual(['request', 'peer-left']);
      expect(detailOf(r, 'request')).toEqual({ result: 'peer-left' });
      expect(detailOf(r, 'peer-left')).toMatchObject({ end: 'rst' });
      expect(r.observation.peer).toBe('rst');
      await within(server.close(), 2000, 'server.close()');
    },
    TEST_MS,
  );

  it(
    'awaitRequest: a client that half-closes without sending a byte ends the wait (nothing can follow its FIN); it still gets the fault',
    async () => {
      const { server, report } = await faultServer({ behavior: 'reset-on-accept', awaitRequest: true });
      const { closed } = await halfClosedClient(server.port);
      const r = await report;
      expect(steps(r)).toEqual(['request', 'reset']);
      expect(detailOf(r, 'request')).toEqual({ result: 'peer-finished' });
      expect(await closed).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    },
    TEST_MS,
  );

  it(
    'reset-after-bytes: a client that resets with bytes unacknowledged (a full window) ends the wait for the acknowledgement',
    async () => {
      const { server, report, accepted } = await faultServer({ behavior: 'reset-after-bytes', bytes: 65_536, responseBytes: 65_536 });
      // A 4 KiB receive buffer, read once, then nothing: the window closes with bytes left
      // unacknowledged. The reset once the server waits for their acknowledgement.
      const seen = await peer.run(
        { port: server.port, rcvbuf: 4096, steps: [{ recvUntil: 1 }, { gate: 'waiting' }, { reset: true }], timeoutMs: 5000 },
        { waiting: async () => awaitingAcknowledgement(await accepted, 65_536) },
      );
      expect(seen.received).toBeLessThan(65_536);
      const r = await report;
      expect(steps(r)).toEqual(['wrote', 'acknowledged', 'peer-left']);
      expect(detailOf(r, 'acknowledged')).toEqual({ result: 'peer-left' });
      expect(detailOf(r, 'peer-left')).toMatchObject({ end: 'rst' });
      await within(server.close(), 2000, 'server.close()');
    },
    TEST_MS,
  );

  it(
    "reset-after-bytes: a client's FIN does not end the wait (it may still read and acknowledge): the reset follows the acknowledgement",
    async () => {
      const server = cleanup.add(await createFaultServer({ behavior: 'reset-after-bytes', bytes: 65_536, responseBytes: 65_536, timeoutMs: MINUTE }));
      const report = nextReport<FaultConnectionReport>(server);
      // The client's FIN must be in before the wait's first look (in the turn its write() ends),
      // so that the wait sees it for certain: the 'connection' listener holds the server (the
      // behaviour starts once it returns) until the FIN has reached the accepted socket. The client
      // sends it as soon as it is connected.
      const accepted = new Promise<net.Socket>((resolve, reject) => {
        server.once('connection', (_id: number, socket: net.Socket) => {
          try {
            untilSync(
              () => {
                const { peerFinReceived, state } = sockclose.inspectSocket(socket);
                return peerFinReceived === true || state === 'CLOSE_WAIT';
              },
              5000,
              "the client's FIN to reach the accepted socket",
            );
            resolve(socket);
          } catch (error) {
            reject(error);
          }
        });
      });
      accepted.catch(() => {});
      // The client reads only once the server waits for the acknowledgement, its FIN in, bytes
      // unacknowledged: then only its reading ends the wait.
      const seen = await peer.run(
        { port: server.port, rcvbuf: 4096, steps: [{ shutdown: true }, { gate: 'waiting' }, { recvEnd: true }], timeoutMs: 5000 },
        { waiting: async () => awaitingAcknowledgement(await within(accepted, 5000, 'the connection'), 65_536) },
      );
      const r = await report;
      expect(steps(r)).toEqual(['wrote', 'acknowledged', 'reset']);
      expect(detailOf(r, 'acknowledged')).toEqual({ result: 'met' });
      expect(seen).toMatchObject({ received: 65_536, end: 'ECONNRESET' });
    },
    TEST_MS,
  );
});

describe("fault server close() and a connection's lingering close", () => {
  it(
    "close() cuts short a linger the peer holds (silent, half-open): reported at once as 'aborted', closed with RST",
    async () => {
      const server = cleanup.add(await createFaultServer({ behavior: 'lingering-close', lingerIdleMs: MINUTE, lingerMaxMs: MINUTE }));
      const report = nextReport<FaultConnectionReport>(server);
      // Reads the response and our FIN, then stays silent with its side open.
      const client = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
      client.on('error', () => {});
      client.resume();
      client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await nextEvent(client, 'end', 5000);
      await within(server.close(), 5000, 'server.close()');
      const r = await report;
      expect(steps(r)).toContain('lingered');
      expect(detailOf(r, 'lingered')).toMatchObject({ reason: 'aborted', closedWith: 'reset' });
      expect(r.observation.local).toBe('fin-rst');
      client.destroy();
    },
    TEST_MS,
  );
});

// A client that resets before the behaviour's first step (reset-after-bytes writes; Node's write
// fails and destroys the socket): docs/harness.md's table says "a peer that has reset first gets
// none, and the report says 'peer-left'". The report used to end on the wait's `result: 'closed'`
// alone, the same as a server.close(), with no 'peer-left' step.
describe('fault server: a client that reset before the behaviour started', () => {
  it('reset-after-bytes: the report says peer-left (the RST never goes out)', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'reset-after-bytes', timeoutMs: 60_000 }));
    const report = nextReport<FaultConnectionReport>(server);
    // The behaviour starts once this listener returns: hold it until the client's RST is in the
    // accepted socket's kernel state (another process sends it), so the behaviour's write meets it.
    server.once('connection', (_id: number, socket: net.Socket) => {
      untilSync(
        () => {
          const { pendingError, state } = sockclose.inspectSocket(socket);
          return pendingError !== null || state === 'CLOSE';
        },
        5000,
        "the client's reset to reach the accepted socket",
      );
    });
    await peer.run({ port: server.port, steps: [{ reset: true }], timeoutMs: 5000 });
    const r = await report;
    expect(r.observation).toMatchObject({ peer: 'rst', local: 'none' });
    const names = r.steps.map((s) => s.step);
    expect(names).not.toContain('reset');
    expect(names.at(-1)).toBe('peer-left');
    expect(r.steps.at(-1)!.detail).toMatchObject({ end: 'rst' });
  });
});
