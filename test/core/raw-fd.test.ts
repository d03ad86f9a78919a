// Raw descriptors in exact kernel states, made by a Python fixture and handed to a Node process
// as plain inherited fds: the states Node's own sockets never let us hold still (a refused
// connect, a reset nobody read, a UDP socket).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

type Seen = Record<string, unknown>;
let report: Record<string, Seen>;

beforeAll(() => {
  const out = execFileSync(
    'python3',
    [path.join(root, 'test', 'fixtures', 'raw_fds.py'), process.execPath, path.join(root, 'test', 'fixtures', 'raw-fd-report.cjs')],
    { encoding: 'utf8', timeout: 30_000 },
  );
  report = JSON.parse(out) as Record<string, Seen>;
});

describe('raw descriptors', () => {
  it('a refused connect: peeked as ECONNREFUSED (never established), twice, then taken once', () => {
    expect(report.refused).toEqual({
      peek1: { error: 'ECONNREFUSED', inferred: true },
      peek2: { error: 'ECONNREFUSED', inferred: true },
      state: 'CLOSE',
      family: 'IPv4',
      linger: { enabled: false, seconds: 0, emulated: false },
      take: { error: 'ECONNREFUSED', inferred: false },
      takeAgain: null,
    });
  });

  it('a reset connection: ECONNRESET, twice, then taken once', () => {
    expect(report.reset).toMatchObject({
      peek1: { error: 'ECONNRESET', inferred: true },
      peek2: { error: 'ECONNRESET', inferred: true },
      state: 'CLOSE',
      take: { error: 'ECONNRESET', inferred: false },
      takeAgain: null,
    });
  });

  it('FIN then RST: the kernel says EPIPE; a raw fd carries no byte count, so the peek can only say ECONNRESET', () => {
    // Documented limit: EPIPE is told apart only for Node sockets (the handle's byte count).
    expect(report.finThenReset).toMatchObject({
      peek1: { error: 'ECONNRESET', inferred: true },
      take: { error: 'EPIPE', inferred: false },
      takeAgain: null,
    });
  });

  it('a healthy connection: nothing pending', () => {
    expect(report.healthy).toMatchObject({ peek1: null, peek2: null, state: 'ESTABLISHED', take: null });
  });

  it('SO_LINGER set by other code without limit (a negative time): Infinity seconds, never a made-up system error', () => {
    const unbounded = { enabled: true, seconds: 'Infinity', emulated: false };
    expect(report.lingerUnbounded).toMatchObject({ linger: unbounded, inspectLinger: unbounded, state: 'ESTABLISHED', peek1: null });
    // Turned off, Linux still reports the time left behind: it means nothing, and reads as 0.
    const off = { enabled: false, seconds: '0', emulated: false };
    expect(report.lingerUnboundedOff).toMatchObject({ linger: off, inspectLinger: off });
    // A kernel with HZ 100 reports the same setting as 2,061,584,302 (LONG_MAX / 100 as an int).
    expect(report.lingerUnboundedHz100).toMatchObject({ linger: unbounded, inspectLinger: unbounded });
  });

  it('a listening socket: LISTEN, nothing pending; hardReset refuses it (no connection) and leaves it listening', () => {
    expect(report.listening).toMatchObject({
      peek1: null,
      state: 'LISTEN',
      take: null,
      hardReset: { threw: 'ERR_INVALID_ARG_VALUE' },
      afterHardReset: 'LISTEN',
    });
  });

  it('a UDP socket: refused with ERR_SOCKCLOSE_NOT_TCP by every function, hardReset included', () => {
    for (const value of Object.values(report.udp!)) expect(value).toEqual({ threw: 'ERR_SOCKCLOSE_NOT_TCP' });
  });

  it('an AF_UNIX socket: error functions work, linger is refused (it means nothing there)', () => {
    expect(report.unix).toEqual({
      peek1: null,
      peek2: null,
      state: 'ESTABLISHED',
      family: 'unix',
      linger: { threw: 'ERR_SOCKCLOSE_NOT_TCP' },
      take: null,
      takeAgain: null,
    });
  });
});
