// Edge cases of the verdict on our own end (`local`), on real sockets, each found by review:
// - Node's 'finish' after its shutdown(2) on a connection an RST had already closed: nothing left
//   (strace: shutdown(fd, SHUT_WR) = -1 ENOTCONN), so `local` is 'none', not 'fin'. Node emits that
//   'finish' after the socket was destroyed (events end, destroy, finish), where no look is taken
//   at 'finish': the looks before it (CLOSE) must decide, not Node's word;
// - a FIN stuck behind bytes the kernel has not sent (FIN_WAIT1 with bytes unsent: a client that
//   does not read) has not left: fin-then-reset's report then says 'rst', not 'fin-rst';
// - close-with-unread whose wait for unread input ran out (a client that sends nothing): nothing is
//   unread, so its plain close is a FIN, as docs/harness.md says; the client gets part of the
//   response and a clean EOF.
// The last describe feeds judge() the same looks by hand, with the cases that must stay 'fin'.
import { afterEach, describe, expect, it } from 'vitest';

import type { FaultServerOptions } from '../../lib/harness/index.js';
import { harness } from './load.js';
import { boundedFaultServer, Cleanup, nonReader, stepOf, steps } from './util.js';
import { failed, judge, look, moments, node } from './verdict-looks.js';

const { createFaultServer, probe } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

// Larger than the socket buffers on loopback (a few MB): a client that does not read holds most of it.
const RESPONSE = 32 * 1024 * 1024;
const TIMEOUT_MS = 300;
const REPORT_MS = 5000;
const TEST_MS = 8000;


const faultServer = (options: FaultServerOptions) => boundedFaultServer(cleanup, options, TIMEOUT_MS, REPORT_MS);


describe("observeClose(): Node's 'finish' on a connection an RST already closed sends nothing", () => {
  it("fin-then-reset against probe() in the same process: 'end', Node's auto-end, 'finish' after destroy(); local is 'none'", async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'fin-then-reset', responseBytes: 1000, awaitRequest: true }));
    // FIN and RST are sent in one turn of the server's loop, which is this one: the client reads
    // its EOF with the connection already CLOSE, on every Node version.
    for (let run = 0; run < 5; run++) {
      const r = await probe('127.0.0.1', server.port, { send: 4, timeoutMs: 3000 });
      const o = r.observation;
      expect(o).toMatchObject({ peer: 'fin-rst', kernelError: 'EPIPE', node: { sawEnd: true, finished: true } });
      // The evidence: every look, the one at 'end' (before Node's end() could run) included, found CLOSE.
      expect(o.snapshots.map((s) => s.state)).not.toContain('FIN_WAIT1');
      expect(o.snapshots.find((s) => s.at === 'end')?.state).toBe('CLOSE');
      expect(o.local, `events ${o.events.map((e) => e.event).join(',')}`).toBe('none');
      expect(o.timings.localEndMs).toBeNull();
      expect(o.initiator).toBe('peer');
    }
  });

  it.each([
    ['reset-after-bytes', { bytes: 5000 }],
    ['close-with-unread', {}],
  ] as const)("%s against probe(): an RST, whatever Node emitted; local is 'none'", async (behavior, options) => {
    const server = cleanup.add(await createFaultServer({ behavior, awaitRequest: true, ...options }));
    for (let run = 0; run < 5; run++) {
      const r = await probe('127.0.0.1', server.port, { send: 4, timeoutMs: 3000 });
      const o = r.observation;
      expect(o).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
      // libuv <= 1.51 mostly says 'end' (then Node's auto-end: 'finish'), 1.52+ 'error': either way no FIN left.
      expect(o.local, `events ${o.events.map((e) => e.event).join(',')}`).toBe('none');
    }
  });
});

describe('fault server: a FIN behind unsent bytes has not left', () => {
  it(
    "fin-then-reset, a client that does not read: FIN_WAIT1 with bytes unsent at the reset, so the server's local is 'rst', and the client sees the RST alone",
    async () => {
      const { server, report } = await faultServer({ behavior: 'fin-then-reset', responseBytes: RESPONSE, awaitRequest: true });
      const { client, closed } = await nonReader(cleanup, server.port, 'x', REPORT_MS);
      const r = await report;
      expect(steps(r)).toEqual(['request', 'wrote', 'all-sent', 'fin', 'reset']);
      expect(stepOf(r, 'all-sent')!.detail).toEqual({ result: 'timeout' });
      // shutdown(2) succeeded (FIN_WAIT1), but the FIN waits behind what the kernel could not send.
      const atReset = r.observation.snapshots.find((s) => s.at === 'destroy')!;
      expect(atReset.state).toBe('FIN_WAIT1');
      expect(atReset.unsentBytes).toBeGreaterThan(1);
      expect(r.observation.local).toBe('rst');
      client.resume();
      const seen = await closed;
      // No EOF before the reset: the FIN never reached it.
      expect(seen).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
      expect(seen.bytes.received).toBeLessThan(RESPONSE);
    },
    TEST_MS,
  );

  it(
    "fin-then-reset, a client that reads: every byte and the FIN left first (unsent 0), so local stays 'fin-rst'",
    async () => {
      const { server, report } = await faultServer({ behavior: 'fin-then-reset', responseBytes: 100_000, awaitRequest: true });
      const { client, closed } = await nonReader(cleanup, server.port, 'x', REPORT_MS);
      client.resume();
      const r = await report;
      expect(steps(r)).toEqual(['request', 'wrote', 'all-sent', 'fin', 'reset']);
      expect(stepOf(r, 'all-sent')!.detail).toEqual({ result: 'met' });
      expect(r.observation.local).toBe('fin-rst');
      expect(await closed).toMatchObject({ peer: 'fin-rst', kernelError: 'EPIPE', bytes: { received: 100_000 } });
    },
    TEST_MS,
  );
});

describe('fault server: close-with-unread whose wait for unread input runs out', () => {
  it(
    'a client that sends nothing and does not read: nothing is unread, so the close is a FIN; the client gets part of the response, then a clean EOF',
    async () => {
      const { server, report } = await faultServer({ behavior: 'close-with-unread', responseBytes: RESPONSE });
      const { client, closed } = await nonReader(cleanup, server.port, '', REPORT_MS);
      const r = await report;
      expect(steps(r)).toEqual(['wrote', 'unread-input', 'close']);
      expect(stepOf(r, 'wrote')!.detail).toMatchObject({ result: 'timeout' });
      expect(stepOf(r, 'unread-input')!.detail).toEqual({ result: 'timeout', unreadBytes: 0 });
      // The report says what happened: a FIN (Node's queued bytes discarded), no reset.
      expect(r.observation.local).toBe('fin');
      expect(r.observation.bytes.unreadAtClose).toBe(0);
      expect(r.observation.bytes.queuedAtClose).toBeGreaterThan(0);
      client.resume();
      const seen = await closed;
      expect(seen).toMatchObject({ peer: 'fin', kernelError: null });
      expect(seen.bytes.received).toBeGreaterThan(0);
      expect(seen.bytes.received).toBeLessThan(RESPONSE);
    },
    TEST_MS,
  );

  it(
    'the same client sending one byte first: it waits unread, so the close is an RST (the fault)',
    async () => {
      const { server, report } = await faultServer({ behavior: 'close-with-unread', responseBytes: RESPONSE, awaitRequest: true });
      const { client, closed } = await nonReader(cleanup, server.port, 'x', REPORT_MS);
      const r = await report;
      expect(stepOf(r, 'unread-input')!.detail).toEqual({ result: 'met', unreadBytes: 1 });
      expect(r.observation.local).toBe('rst');
      client.resume();
      expect(await closed).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    },
    TEST_MS,
  );
});

// judge() fed by hand: the rules above, and their limits (the cases that must stay 'fin').
describe("judge(): when Node's 'finish' is not our FIN", () => {
  it("'end' with the connection CLOSE (FIN then RST), destroy(), then 'finish': no look at 'finish', and none is needed: 'none'", () => {
    const v = judge(
      [
        look('end', 2, { state: 'CLOSE', err: 'EPIPE', fin: true }),
        look('destroy', 2.2, { state: 'CLOSE', err: 'EPIPE', fin: true }),
        look('final', 2.3, { state: 'CLOSE', err: 'EPIPE', fin: true }),
      ],
      node({ sawEnd: true, finished: true, destroyedWithoutError: true }),
      moments({ end: 2, destroy: 2.2, finish: 2.4 }),
    );
    expect(v).toMatchObject({ peer: 'fin-rst', local: 'none', kernelError: 'EPIPE', initiator: 'peer', localEndMs: null });
  });

  it("the look at 'finish' failed: the CLOSE look at 'end' before it is enough", () => {
    const v = judge(
      [look('end', 2, { state: 'CLOSE', fin: false }), failed('finish', 2.1), look('destroy', 2.2, { state: 'CLOSE', fin: false })],
      node({ sawEnd: true, finished: true, destroyedWithoutError: true }),
      moments({ end: 2, finish: 2.1, destroy: 2.2 }),
    );
    expect(v).toMatchObject({ peer: 'rst', local: 'none' });
  });

  it("'finish' after destroy() whose look shows our FIN (FIN_WAIT2): 'fin'", () => {
    const v = judge(
      [look('destroy', 2.2, { state: 'FIN_WAIT2', fin: false })],
      node({ finished: true, destroyedWithoutError: true }),
      moments({ destroy: 2.2, finish: 2.4 }),
    );
    expect(v).toMatchObject({ peer: 'none', local: 'fin' });
  });

  it("'finish' after destroy(), both FINs exchanged by then (CLOSE after the peer's FIN, no reset): 'fin'", () => {
    const v = judge(
      [look('end', 1, { state: 'CLOSE_WAIT', fin: true }), look('destroy', 2.2, { state: 'CLOSE', fin: true })],
      node({ sawEnd: true, finished: true, destroyedWithoutError: true }),
      moments({ end: 1, destroy: 2.2, finish: 2.4 }),
    );
    expect(v).toMatchObject({ peer: 'fin', local: 'fin' });
  });

  it("no look could be taken (no native binary): Node's word stands", () => {
    const v = judge(
      [failed('end', 1), failed('finish', 2), failed('destroy', 3)],
      node({ sawEnd: true, finished: true, destroyedWithoutError: true }),
      moments({ end: 1, finish: 2, destroy: 3 }),
    );
    expect(v.local).toBe('fin');
  });
});

describe('judge(): a FIN still behind unsent bytes when the close resets never left', () => {
  const reset = (unsent: number | null) =>
    judge(
      [look('destroy', 5, { state: 'FIN_WAIT1', fin: false, unsent, closeWouldReset: true, abortive: true })],
      node({ destroyedWithoutError: true }),
      moments({ destroy: 5 }),
    );

  it("bytes (and the FIN) unsent at the reset: 'rst'", () => {
    expect(reset(4_061_861).local).toBe('rst');
    // Linux counts the FIN itself as one unsent byte until it leaves.
    expect(reset(1).local).toBe('rst');
  });

  it("nothing unsent: the FIN left, then the RST: 'fin-rst'", () => {
    expect(reset(0).local).toBe('fin-rst');
  });

  it('unsent unknown: the state is taken for it', () => {
    expect(reset(null).local).toBe('fin-rst');
  });

  it("a plain close keeps sending it (nothing unread): 'fin'", () => {
    const v = judge(
      [look('destroy', 5, { state: 'FIN_WAIT1', fin: false, unsent: 500_000 })],
      node({ destroyedWithoutError: true }),
      moments({ destroy: 5 }),
    );
    expect(v.local).toBe('fin');
  });

  it("a lingering close kept the descriptor open after the look (the response drained, the FIN left), then server.close() reset it: 'fin-rst'", () => {
    // Measured: lingering-close, a client that reads and stays half-open, server.close() during the linger.
    const v = judge(
      [
        look('finish', 9, { state: 'FIN_WAIT1', fin: false, unsent: 472_001, closeWouldReset: true }),
        look('destroy', 10, { state: 'FIN_WAIT1', fin: false, unsent: 472_001, closeWouldReset: true }),
        { ...look('final', 12, { state: null, fin: null, unsent: null, closeWouldReset: true, abortive: true }), unreadBytes: null },
      ],
      node({ finished: true, destroyedWithoutError: true }),
      moments({ finish: 9, destroy: 10 }),
    );
    expect(v.local).toBe('fin-rst');
  });

  it('a later look in FIN_WAIT2 proves it, whatever an earlier one showed unsent', () => {
    const v = judge(
      [look('finish', 1, { state: 'FIN_WAIT1', fin: false, unsent: 10 }), look('destroy', 5, { state: 'FIN_WAIT2', fin: false })],
      node({ finished: true, destroyedWithoutError: true }),
      moments({ finish: 1, destroy: 5 }),
    );
    expect(v.local).toBe('fin');
  });
});
