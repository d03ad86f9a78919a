// The verdict rules (lib/harness/close-verdict.js), fed the event orders and kernel looks measured
// on this machine with Node 20.20 (libuv 1.46), 22.23 (1.51), 24.21 and 26.10 (1.52.1): the same
// wire must give the same verdict whatever Node chose to emit. Each case says which run it
// reproduces; the numbers are those runs' (bytes received, read, unread, states).
import { describe, expect, it } from 'vitest';

import type { CloseSnapshot, NodeView, Verdict } from '../../lib/harness/close-verdict.js';
import { failed, judge, look, moments, node } from './verdict-looks.js';

const readReset = { code: 'ECONNRESET', syscall: 'read', message: 'read ECONNRESET' };
const writePipe = { code: 'EPIPE', syscall: 'write', message: 'write EPIPE' };


/** The wire facts of a verdict, which must not depend on the Node version. */
const wire = (v: Verdict) => ({ peer: v.peer, local: v.local, kernelError: v.kernelError });

describe('judge(): an RST after data, no FIN', () => {
  // reset-after-bytes against a net client that reads to the end (allowHalfOpen false).
  const libuv146 = judge(
    [
      look('end', 3, { state: 'CLOSE', err: 'ECONNRESET', fin: false }),
      look('finish', 3.1, { state: 'CLOSE', err: 'ECONNRESET', fin: false }),
      look('destroy', 3.2, { state: 'CLOSE', err: 'ECONNRESET', fin: false }),
    ],
    node({ sawEnd: true, finished: true, destroyedWithoutError: true }),
    moments({ end: 3, finish: 3.1, destroy: 3.2 }),
  );
  const libuv152 = judge(
    [look('destroy', 3, { state: 'CLOSE', fin: false })],
    node({ error: readReset }),
    moments({ destroy: 3, error: 3 }),
  );

  it("libuv <= 1.51: 'end' with the error pending, then Node's end() on a closed connection: rst, hidden, and no FIN of ours", () => {
    // Node emits 'finish' after shutdown(2) on a CLOSE socket, which sends nothing.
    expect(libuv146).toMatchObject({ peer: 'rst', local: 'none', kernelError: 'ECONNRESET', hiddenReset: true, initiator: 'peer', peerEndMs: 3 });
  });

  it("libuv 1.52: 'error' ECONNRESET (read), no 'end', the error consumed: the same wire verdict, not hidden", () => {
    expect(libuv152).toMatchObject({ peer: 'rst', local: 'none', kernelError: 'ECONNRESET', hiddenReset: false, initiator: 'peer', peerEndMs: 3 });
    expect(wire(libuv152)).toEqual(wire(libuv146));
  });
});

describe('judge(): our FIN first, then the peer resets (limit_data reset after the client end())', () => {
  const libuv146 = judge(
    [
      look('finish', 1, { state: 'FIN_WAIT1', fin: false }),
      look('end', 5, { state: 'CLOSE', err: 'ECONNRESET', fin: false }),
      look('destroy', 5.1, { state: 'CLOSE', err: 'ECONNRESET', fin: false }),
      look('final', 5.2, { state: 'CLOSE', err: 'ECONNRESET', fin: false }),
    ],
    node({ sawEnd: true, finished: true, destroyedWithoutError: true }),
    moments({ finish: 1, end: 5, destroy: 5.1 }),
  );
  const libuv152 = judge(
    [
      look('finish', 1, { state: 'FIN_WAIT1', fin: false }),
      look('destroy', 5, { state: 'CLOSE', fin: false }),
      look('final', 5.1, { state: 'CLOSE', fin: false }),
    ],
    node({ finished: true, error: readReset }),
    moments({ finish: 1, destroy: 5, error: 5 }),
  );

  it('libuv 1.52: CLOSE with nothing pending after our FIN is not "both FINs exchanged": no FIN was counted', () => {
    // The bug this replaces: 'fin-rst' with ECONNRESET, a contradiction.
    expect(libuv152).toMatchObject({ peer: 'rst', local: 'fin', kernelError: 'ECONNRESET', hiddenReset: false, initiator: 'local', localEndMs: 1 });
  });

  it('libuv <= 1.51: the same wire verdict', () => {
    expect(libuv146).toMatchObject({ peer: 'rst', local: 'fin', kernelError: 'ECONNRESET', hiddenReset: true, initiator: 'local' });
    expect(wire(libuv146)).toEqual(wire(libuv152));
  });
});

describe('judge(): FIN, then RST (fin-then-reset)', () => {
  it("a net client on every libuv: 'end' (the FIN), the EPIPE pending: fin-rst, hidden", () => {
    const v = judge(
      [
        look('end', 2, { state: 'CLOSE', err: 'EPIPE', fin: true }),
        look('finish', 2.1, { state: 'CLOSE', err: 'EPIPE', fin: true }),
        look('destroy', 2.2, { state: 'CLOSE', err: 'EPIPE', fin: true }),
      ],
      node({ sawEnd: true, finished: true, destroyedWithoutError: true }),
      moments({ end: 2, finish: 2.1, destroy: 2.2 }),
    );
    expect(v).toMatchObject({ peer: 'fin-rst', local: 'none', kernelError: 'EPIPE', hiddenReset: true, initiator: 'peer' });
  });

  it("Node 24's http client: it closes after the complete response without reading the EOF: no 'end', still fin-rst, not hidden", () => {
    const v = judge(
      [
        look('finish', 4, { state: 'CLOSE', err: 'EPIPE', fin: true }),
        look('destroy', 4.1, { state: 'CLOSE', err: 'EPIPE', fin: true }),
        look('final', 4.2, { state: 'CLOSE', err: 'EPIPE', fin: true }),
      ],
      node({ finished: true, destroyedWithoutError: true }),
      moments({ finish: 4, destroy: 4.1 }),
    );
    expect(v).toMatchObject({ peer: 'fin-rst', local: 'none', kernelError: 'EPIPE', hiddenReset: false, initiator: 'peer', peerEndMs: 4 });
  });

  it("'end', then a write fails with EPIPE (the RST came after the EOF): fin-rst, Node reported it", () => {
    const v = judge(
      [look('end', 2, { state: 'CLOSE_WAIT', fin: true }), look('destroy', 110, { state: 'CLOSE', fin: true })],
      node({ sawEnd: true, error: writePipe }),
      moments({ end: 2, destroy: 110, error: 110 }),
    );
    expect(v).toMatchObject({ peer: 'fin-rst', local: 'none', kernelError: 'EPIPE', hiddenReset: false, initiator: 'peer', peerEndMs: 2 });
  });

  it('a client that destroys before reading anything of the end: the kernel still tells', () => {
    const v = judge([look('destroy', 1, { state: 'CLOSE', err: 'EPIPE', fin: true })], node({ destroyedWithoutError: true }), moments({ destroy: 1 }));
    expect(v).toMatchObject({ peer: 'fin-rst', local: 'none', kernelError: 'EPIPE', hiddenReset: false });
  });
});

describe('judge(): clean ends', () => {
  it("the peer's FIN, then ours: fin both ways, no error", () => {
    const v = judge(
      [
        look('end', 1, { state: 'CLOSE_WAIT', fin: true }),
        look('finish', 1.1, { state: 'LAST_ACK', fin: true }),
        look('destroy', 1.2, { state: 'CLOSE', fin: true }),
      ],
      node({ sawEnd: true, finished: true, destroyedWithoutError: true }),
      moments({ end: 1, finish: 1.1, destroy: 1.2 }),
    );
    expect(v).toMatchObject({ initiator: 'peer', peer: 'fin', local: 'fin', kernelError: null, hiddenReset: false });
  });

  it('our FIN, then theirs: the exchange done (CLOSE) by the time Node read the EOF', () => {
    const v = judge(
      [look('finish', 1, { state: 'FIN_WAIT1', fin: false }), look('end', 3, { state: 'CLOSE', fin: true }), look('destroy', 3.1, { state: 'CLOSE', fin: true })],
      node({ sawEnd: true, finished: true, destroyedWithoutError: true }),
      moments({ finish: 1, end: 3, destroy: 3.1 }),
    );
    expect(v).toMatchObject({ peer: 'fin', local: 'fin', kernelError: null, hiddenReset: false, initiator: 'local', localEndMs: 1, peerEndMs: 3 });
  });

  it("both FINs exchanged before Node's 'finish' ran: CLOSE after the peer's FIN, no reset, so ours went out", () => {
    const v = judge(
      [look('end', 1, { state: 'CLOSE_WAIT', fin: true }), look('finish', 1.1, { state: 'CLOSE', fin: true })],
      node({ sawEnd: true, finished: true }),
      moments({ end: 1, finish: 1.1, destroy: 1.2 }),
    );
    expect(v).toMatchObject({ peer: 'fin', local: 'fin', kernelError: null, initiator: 'peer' });
  });

  it('a lingering close (a close step): unread input at destroy(), a clean exchange by the real close', () => {
    const v = judge(
      [look('destroy', 1, { state: 'ESTABLISHED', fin: false, unread: 14, closeWouldReset: true }), look('final', 9, { state: 'CLOSE', fin: true })],
      node({ destroyedWithoutError: true }),
      moments({ destroy: 1 }),
    );
    // Node never finished: the close step's own shutdown(2) sent our FIN; CLOSE after the
    // peer's FIN with no reset proves it (CLOSE_WAIT leaves only by our FIN or an RST).
    expect(v).toMatchObject({ peer: 'fin', local: 'fin', kernelError: null });
  });

  it("the peer's FIN counted at destroy(), unread input left: fin from the peer, rst from us", () => {
    const v = judge(
      [look('destroy', 300, { state: 'CLOSE_WAIT', fin: true, unread: 4, closeWouldReset: true })],
      node({ destroyedWithoutError: true }),
      moments({ destroy: 300 }),
    );
    expect(v).toMatchObject({ peer: 'fin', local: 'rst', kernelError: null });
  });

  it('a half-close by the peer we answer with destroy(): our close is the FIN', () => {
    const v = judge([look('destroy', 5, { state: 'CLOSE_WAIT', fin: true })], node({ destroyedWithoutError: true }), moments({ destroy: 5 }));
    expect(v).toMatchObject({ peer: 'fin', local: 'fin', initiator: 'peer' });
  });
});

describe('judge(): resets whose error someone else read', () => {
  it("a lingering close's drain read the reset: CLOSE with no FIN counted is an RST, not a FIN", () => {
    const v = judge(
      [look('destroy', 1, { state: 'ESTABLISHED', fin: false, unread: 14, closeWouldReset: true }), look('final', 40, { state: 'CLOSE', fin: false })],
      node({ destroyedWithoutError: true }),
      moments({ destroy: 1 }),
    );
    expect(v).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    // What the drain itself sent (its FIN) no look saw: the lingering close's report says.
  });

  it('not for a connection never established (a connect timeout ends in CLOSE too)', () => {
    const v = judge(
      [look('destroy', 1000, { state: 'CLOSE', fin: false })],
      node({ connected: false, error: { code: 'ETIMEDOUT', syscall: 'connect', message: 'connect ETIMEDOUT' } }),
      moments({ destroy: 1000, error: 1000 }),
    );
    expect(v).toMatchObject({ peer: 'none', local: 'none', kernelError: 'ETIMEDOUT' });
  });
});

describe('judge(): other ends', () => {
  it('a refused connection: the RST to our SYN', () => {
    const v = judge(
      [look('destroy', 1, { state: 'CLOSE', fin: false })],
      node({ connected: false, error: { code: 'ECONNREFUSED', syscall: 'connect', message: 'connect ECONNREFUSED' } }),
      moments({ destroy: 1, error: 1 }),
    );
    expect(v).toMatchObject({ peer: 'rst', kernelError: 'ECONNREFUSED', local: 'none', hiddenReset: false });
  });

  it('this side resets (hardReset: linger {1, 0})', () => {
    const v = judge(
      [look('destroy', 1, { state: 'ESTABLISHED', fin: false, abortive: true, closeWouldReset: true })],
      node({ destroyedWithoutError: true }),
      moments({ destroy: 1 }),
    );
    expect(v).toMatchObject({ initiator: 'local', peer: 'none', local: 'rst', kernelError: null });
  });

  it("Node's resetAndDestroy() after end(): fin-rst from us", () => {
    const v = judge([look('finish', 1, { state: 'FIN_WAIT2', fin: false }), look('destroy', 2, { state: 'FIN_WAIT2', fin: false })], node({ finished: true, nodeReset: true }), moments({ finish: 1, destroy: 2 }));
    expect(v).toMatchObject({ local: 'fin-rst', peer: 'none' });
  });

  it("an ECONNRESET Node made up (TLS: 'socket disconnected' after a plain EOF) is not the kernel's", () => {
    const v = judge(
      [look('end', 1, { state: 'CLOSE_WAIT', fin: true }), look('destroy', 1.1, { state: 'CLOSE_WAIT', fin: true })],
      node({ sawEnd: true, error: { code: 'ECONNRESET', syscall: null, message: 'Client network socket disconnected before secure TLS connection was established' } }),
      moments({ end: 1, destroy: 1.1, error: 1.1 }),
    );
    expect(v).toMatchObject({ peer: 'fin', kernelError: null, local: 'fin', hiddenReset: false });
  });

  it('a stall this side gives up on: nothing from the peer, our close is a FIN', () => {
    const v = judge([look('destroy', 200, { state: 'ESTABLISHED', fin: false })], node({ destroyedWithoutError: true }), moments({ destroy: 200 }));
    expect(v).toMatchObject({ initiator: 'local', peer: 'none', local: 'fin', kernelError: null });
  });
});

describe('judge(): without the kernel (no native binary, or a platform that cannot peek)', () => {
  it("Node's 'end' is taken for the FIN, its error for the reset", () => {
    const clean = judge([failed('end', 1), failed('destroy', 2)], node({ sawEnd: true, finished: true }), moments({ end: 1, finish: 1.5, destroy: 2 }));
    expect(clean).toMatchObject({ peer: 'fin', local: 'fin', kernelError: null });
    const reset = judge([failed('destroy', 2)], node({ error: readReset }), moments({ destroy: 2, error: 2 }));
    expect(reset).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET', local: 'none' });
  });
});

describe('judge(): the verdict never contradicts itself', () => {
  it('fin-rst comes with EPIPE, rst never does', () => {
    const cases: Array<[CloseSnapshot[], NodeView]> = [
      [[look('destroy', 1, { state: 'CLOSE', err: 'EPIPE', fin: true })], node({})],
      [[look('destroy', 1, { state: 'CLOSE', fin: false })], node({ error: readReset })],
      [[look('finish', 1, { state: 'FIN_WAIT1', fin: false }), look('final', 2, { state: 'CLOSE', fin: false })], node({ finished: true, error: readReset })],
      [[look('end', 1, { state: 'CLOSE', err: 'ECONNRESET', fin: false })], node({ sawEnd: true })],
      [[look('end', 1, { state: 'CLOSE_WAIT', fin: true }), look('destroy', 2, { state: 'CLOSE', fin: true })], node({ sawEnd: true, error: writePipe })],
    ];
    for (const [snapshots, view] of cases) {
      const v = judge(snapshots, view, moments({ destroy: 2 }));
      // Every case is a reset, so each one reaches one of the two checks below.
      expect(['rst', 'fin-rst']).toContain(v.peer);
      if (v.peer === 'fin-rst') expect(v.kernelError).toBe('EPIPE');
      if (v.peer === 'rst') expect(v.kernelError).not.toBe('EPIPE');
      if (v.hiddenReset) expect(view.sawEnd && v.peer !== 'fin' && v.peer !== 'none').toBe(true);
    }
  });
});
