// Every fault-server behaviour against a kernel-level client (Python, no libuv in between): the
// exact bytes and errors recv()/send() report, and the server's own report of what it did.
import { afterEach, describe, expect, it } from 'vitest';

import type { FaultConnectionReport } from '../../lib/harness/index.js';
import { KernelPeer } from '../lingering/kernel-peer.js';
import { kernelClient } from './kernel.js';
import { harness } from './load.js';
import { Cleanup, nextReport } from './util.js';

const { createFaultServer } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function serve(options: Parameters<typeof createFaultServer>[0]) {
  const server = cleanup.add(await createFaultServer(options));
  return { server, report: nextReport<FaultConnectionReport>(server) };
}

const steps = (report: FaultConnectionReport) => report.steps.map((s) => s.step);

describe('fault server, kernel-level client', () => {
  // The server may reset before the client's process returns from connect(): then the kernel
  // fails connect() itself with ECONNRESET. Either way the client learns of a reset, never data.
  it('reset-on-accept: ECONNRESET, from connect() or from recv(), and no byte', async () => {
    const { server, report } = await serve({ behavior: 'reset-on-accept' });
    const seen = await kernelClient({ port: server.port });
    expect(seen.received).toBe(0);
    expect(seen.connectError ?? seen.end).toBe('ECONNRESET');
    const r = await report;
    expect(steps(r)).toEqual(['reset']);
    expect(r.observation).toMatchObject({ local: 'rst', initiator: 'local' });
  });

  it('reset-on-accept with awaitRequest: the send succeeds, the next recv() fails with ECONNRESET', async () => {
    const { server, report } = await serve({ behavior: 'reset-on-accept', awaitRequest: true });
    const seen = await kernelClient({ port: server.port, send: 4 });
    expect(seen).toMatchObject({ connectError: null, sendError: null, received: 0, end: 'ECONNRESET' });
    const r = await report;
    expect(steps(r)).toEqual(['request', 'reset']);
    expect(r.observation).toMatchObject({ local: 'rst', bytes: { unreadAtClose: 4 } });
  });

  it('reset-after-bytes: exactly N bytes, then ECONNRESET', async () => {
    const { server, report } = await serve({ behavior: 'reset-after-bytes', bytes: 5000, awaitRequest: true });
    const seen = await kernelClient({ port: server.port, send: 1 });
    expect(seen).toMatchObject({ connectError: null, received: 5000, end: 'ECONNRESET' });
    const r = await report;
    expect(steps(r)).toEqual(['request', 'wrote', 'acknowledged', 'reset']);
    expect(r.steps[2]!.detail).toEqual({ result: 'met' });
    expect(r.observation).toMatchObject({ local: 'rst', bytes: { sent: 5000, acked: 5000 } });
  });

  it('close-with-unread (the seed 004 server): the close with 4 unread bytes is an RST', async () => {
    const { server, report } = await serve({ behavior: 'close-with-unread' });
    const seen = await kernelClient({ port: server.port, send: 4 });
    expect(seen.end).toBe('ECONNRESET');
    // How much arrived before the RST varies from run to run (npm run bench:rst counts it).
    const r = await report;
    expect(steps(r)).toEqual(['wrote', 'unread-input', 'close']);
    expect(r.observation).toMatchObject({ local: 'rst', bytes: { received: 0, sent: 600_000, unreadAtClose: 4 } });
  });

  it('fin-then-reset: a clean EOF, then the kernel flags the reset and send() fails with EPIPE', async () => {
    const { server, report } = await serve({ behavior: 'fin-then-reset', responseBytes: 5000, awaitRequest: true });
    const seen = await kernelClient({ port: server.port, send: 1, sendAfterEof: 10 });
    expect(seen).toMatchObject({ connectError: null, received: 5000, end: 'eof', pollErr: true, sendError: 'EPIPE' });
    const r = await report;
    expect(steps(r)).toEqual(['request', 'wrote', 'all-sent', 'fin', 'reset']);
    expect(r.observation.local).toBe('fin-rst');
  });

  it('fin-then-reset with delayMs: FIN, then the RST no sooner than the delay', async () => {
    const { server, report } = await serve({ behavior: 'fin-then-reset', responseBytes: 5000, delayMs: 100, awaitRequest: true });
    const seen = await kernelClient({ port: server.port, send: 1, sendAfterEof: 10 });
    expect(seen).toMatchObject({ received: 5000, end: 'eof', pollErr: true, sendError: 'EPIPE' });
    const r = await report;
    expect(steps(r)).toEqual(['request', 'wrote', 'fin', 'fin-sent', 'reset']);
    const fin = r.steps.find((s) => s.step === 'fin')!;
    expect(r.steps.find((s) => s.step === 'reset')!.atMs - fin.atMs).toBeGreaterThanOrEqual(100);
  });

  it('half-close: EOF after the response, yet the server keeps reading until the client closes', async () => {
    const { server, report } = await serve({ behavior: 'half-close', responseBytes: 5000 });
    const seen = await kernelClient({ port: server.port, send: 4, sendAfterEof: 100, pollMs: 0 });
    expect(seen).toMatchObject({ received: 5000, end: 'eof', pollErr: false, sendError: null });
    const r = await report;
    expect(steps(r)).toEqual(['wrote', 'fin', 'peer-eof']);
    // Bytes sent after the server's FIN were read: the connection was half-open, not closed.
    expect(r.observation).toMatchObject({ initiator: 'local', local: 'fin', peer: 'fin', bytes: { received: 104 } });
  });

  it('slow-close: the server answers the client FIN with its own only after the delay', async () => {
    const { server, report } = await serve({ behavior: 'slow-close', responseBytes: 100, delayMs: 150 });
    const seen = await kernelClient({ port: server.port, send: 4, shutdown: true });
    expect(seen).toMatchObject({ received: 100, end: 'eof' });
    expect(seen.finToEofMs).toBeGreaterThanOrEqual(150);
    const r = await report;
    expect(steps(r)).toEqual(['wrote', 'peer-eof', 'fin']);
    const eof = r.steps.find((s) => s.step === 'peer-eof')!;
    const fin = r.steps.find((s) => s.step === 'fin')!;
    expect(fin.atMs - eof.atMs).toBeGreaterThanOrEqual(150);
    expect(r.observation).toMatchObject({ initiator: 'peer', peer: 'fin', local: 'fin' });
  });

  it('stall: nothing arrives, nothing ends; the client gives up', async () => {
    const { server, report } = await serve({ behavior: 'stall' });
    const seen = await kernelClient({ port: server.port, send: 4, readTimeoutMs: 300 });
    expect(seen).toMatchObject({ received: 0, end: 'timeout' });
    await server.close();
    const r = await report;
    expect(steps(r)).toEqual(['stall']);
    // The stalled server never read the 4 bytes: its close (by server.close()) was an RST.
    expect(r.observation).toMatchObject({ local: 'rst', bytes: { received: 0, unreadAtClose: 4 } });
  });

  it('close: a clean EOF with nothing said, even with input sent', async () => {
    const { server, report } = await serve({ behavior: 'close' });
    const seen = await kernelClient({ port: server.port, send: 4 });
    expect(seen).toMatchObject({ received: 0, end: 'eof', sendError: null });
    const r = await report;
    expect(r.observation).toMatchObject({ initiator: 'local', local: 'fin', peer: 'fin' });
  });

  it('lingering-close (the control): all 600,000 bytes and a clean EOF, input unread or not', async () => {
    const { server, report } = await serve({ behavior: 'lingering-close' });
    const seen = await kernelClient({ port: server.port, send: 4 });
    expect(seen).toMatchObject({ received: 600_000, end: 'eof' });
    const r = await report;
    expect(steps(r)).toEqual(['queued', 'lingered']);
    expect(r.steps[1]!.detail).toMatchObject({ reason: 'eof', closedWith: 'close', drainedBytes: 4 });
    expect(r.observation.local).toBe('fin');
  });

  it('echo: the bytes come back, then EOF after ours', async () => {
    const { server, report } = await serve({ behavior: 'echo' });
    const seen = await kernelClient({ port: server.port, send: 70_000, shutdown: true });
    expect(seen).toMatchObject({ received: 70_000, end: 'eof' });
    expect((await report).observation).toMatchObject({ initiator: 'peer', peer: 'fin', local: 'fin' });
  });
});

// A peer that closes the moment it reads EOF answers the server's FIN within microseconds on
// loopback, usually before the RST can follow (shutdown(2) alone takes longer). After both FINs
// there is no connection to reset: the report must then say the peer left, never claim a reset.
// delayMs 0 is the case of the back-to-back reset (the report reconciled with the close's own look:
// reconciled() in fault-server.ts); delayMs 100 checks the pause, whose own look at the kernel sees
// the peer's FIN first and stops there.
describe('fin-then-reset, a kernel-level peer that closes at EOF', () => {
  const CONNECTIONS = 5;

  it.each([0, 100])(
    'delayMs %i: each report names what reached the wire (a reset step only with an RST, else peer-left)',
    async (delayMs) => {
      const peer = cleanup.add(new KernelPeer());
      const server = cleanup.add(await createFaultServer({ behavior: 'fin-then-reset', responseBytes: 100, awaitRequest: true, delayMs }));
      // Bounded: CONNECTIONS runs, each within the peer's own 5 s and nextReport's 10 s.
      for (let i = 0; i < CONNECTIONS; i++) {
        const report = nextReport<FaultConnectionReport>(server);
        const seen = await peer.run({ port: server.port, timeoutMs: 5000, steps: [{ send: 1 }, { recvEnd: true }] });
        expect(seen).toMatchObject({ connectError: null, received: 100, end: 'eof' });
        const r = await report;
        const last = r.steps[r.steps.length - 1]!;
        if (r.observation.local === 'fin-rst') {
          expect(last.step).toBe('reset');
        } else {
          expect(r.observation).toMatchObject({ local: 'fin', peer: 'fin' });
          expect(steps(r)).not.toContain('reset');
          expect(last).toMatchObject({ step: 'peer-left', detail: { end: 'fin', error: null } });
        }
      }
    },
    30_000,
  );
});

// The peer resets during delayMs, close to its end: the pause polls (1, 2, 4 … 50 ms), and a reset
// that lands after its last look used to be reported as a 'reset' of ours that never left (the
// server's own observation: local 'none', peer 'rst').
describe('reset-on-accept, a kernel-level peer that resets near the end of delayMs', () => {
  const CONNECTIONS = 5;

  it(
    'each report names what reached the wire: a reset step only if the server sent the RST, else peer-left',
    async () => {
      const peer = cleanup.add(new KernelPeer());
      const server = cleanup.add(await createFaultServer({ behavior: 'reset-on-accept', delayMs: 100 }));
      for (let i = 0; i < CONNECTIONS; i++) {
        const report = nextReport<FaultConnectionReport>(server);
        // Pacing, not synchronisation: whenever the reset lands, the report must agree with the wire.
        await peer.run({ port: server.port, timeoutMs: 5000, steps: [{ waitMs: 80 + 4 * i }, { reset: true }] });
        const r = await report;
        const last = r.steps[r.steps.length - 1]!;
        if (r.observation.local === 'rst') {
          expect(last.step).toBe('reset');
        } else {
          expect(r.observation.peer).toBe('rst');
          expect(steps(r)).not.toContain('reset');
          expect(last).toMatchObject({ step: 'peer-left', detail: { end: 'rst' } });
        }
      }
    },
    30_000,
  );
});
