// The bad-input matrix: every public function × every kind of hostile target, plus the argument
// matrices of setLinger() and lingeringClose(). Each case must give the documented error with its
// stable code (or the documented result), never crash, and never touch another descriptor: a canary
// connection in a distinctive state is checked after every single case.
//
// The one case the documentation leaves open is run for the safety properties only (no crash, coded
// error if any, canary untouched); it and the documented exceptions to each kind's rule are in
// SPECIAL.
import os from 'node:os';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tcpPair } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';
import { canaryListener, createCanary, type Canary } from './canary.js';
import { OUT_OF_RANGE, resourceTargets, StuckListener, WRONG_TYPES, type Cleanups, type HostileTarget, type TargetKind } from './hostile-targets.js';

type Call = (target: never) => unknown;

/** Every public function that takes a target, called with harmless other arguments. */
const CALLS: Record<string, Call> = {
  socketFd: (t) => sockclose.socketFd(t),
  setLinger: (t) => sockclose.setLinger(t, 0),
  getLinger: (t) => sockclose.getLinger(t),
  hardReset: (t) => sockclose.hardReset(t),
  peekSocketError: (t) => sockclose.peekSocketError(t),
  takeSocketError: (t) => sockclose.takeSocketError(t),
  inspectSocket: (t) => sockclose.inspectSocket(t),
  closeWouldReset: (t) => sockclose.closeWouldReset(t),
  shutdownWrite: (t) => sockclose.shutdownWrite(t),
  lingeringClose: (t) => sockclose.lingeringClose(t, { idleTimeout: 50, maxTimeout: 500 }),
};
type Name = keyof typeof CALLS;

/** An expected outcome: an error's class and code (plus fields), or a result check. */
type Expected =
  | { error: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor; code: string; fields?: Record<string, unknown> }
  | { result: (value: unknown) => void }
  | 'unclear'
  | 'skip';

const E = os.constants.errno;
const typeError = (code = 'ERR_INVALID_ARG_TYPE'): Expected => ({ error: TypeError, code });
const rangeError: Expected = { error: RangeError, code: 'ERR_OUT_OF_RANGE' };
const system = (code: 'EBADF' | 'ENOTSOCK'): Expected => ({ error: Error, code, fields: { errno: -E[code], syscall: 'getsockopt' } });
const coded = (code: string, error: ErrorConstructor = Error): Expected => ({ error, code });
const returns = (check: (value: unknown) => void): Expected => ({ result: check });
const returnsNumber = returns((value) => expect(value).toEqual(expect.any(Number)));
const returnsNothing = returns((value) => expect(value).toBeUndefined());
const returnsNoLinger = returns((value) => expect(value).toEqual({ enabled: false, seconds: 0, emulated: false }));

/**
 * The combinations that differ from their kind's rule, each as documented:
 * - hardReset(listening fd), shutdownWrite(listening fd): refused (ERR_INVALID_ARG_VALUE: no
 *   connection to reset or shut down); the listener is left open.
 * - setLinger(listening fd, 0): succeeds; Linux copies it to every connection accepted afterwards.
 * - shutdownWrite(SYN_SENT socket): waits for the connect, which never comes here (not run).
 * And one left open: lingeringClose(socket mid-connect), documented for "a connected socket" only
 * (run for safety: any error must carry a stable code).
 */
const SPECIAL: Partial<Record<TargetKind, Partial<Record<Name, Expected>>>> = {
  'listening-fd': {
    hardReset: coded('ERR_INVALID_ARG_VALUE', TypeError),
    shutdownWrite: coded('ERR_INVALID_ARG_VALUE', TypeError),
    setLinger: returnsNothing,
  },
  'syn-sent': { lingeringClose: 'unclear', shutdownWrite: 'skip' },
};

/**
 * The read-only calls on a socket with no pending error whose close would not reset (a listener,
 * a SYN_SENT socket, an idle AF_UNIX one); `inspection`: fields inspectSocket() must report.
 */
function quietSocket(name: Name, inspection: Record<string, unknown>): Expected | undefined {
  switch (name) {
    case 'socketFd':
      return returnsNumber;
    case 'peekSocketError':
    case 'takeSocketError':
      return returns((value) => expect(value).toBeNull());
    case 'inspectSocket':
      return returns((value) => expect(value).toMatchObject(inspection));
    case 'closeWouldReset':
      return returns((value) => expect(value).toBe(false));
    default:
      return undefined;
  }
}

function expected(name: Name, kind: TargetKind): Expected {
  const special = SPECIAL[kind]?.[name];
  if (special) return special;
  const isNumberKind = ['out-of-range', 'closed-fd', 'file-fd', 'fifo-fd', 'listening-fd', 'udp-fd'].includes(kind);
  // lingeringClose takes sockets only: any number is the wrong type.
  if (name === 'lingeringClose' && isNumberKind) return typeError();
  switch (kind) {
    case 'wrong-type':
      return typeError();
    // closeWouldReset() alone takes a net.Server: the verdict of its listening descriptor (an idle
    // one here), ERR_SOCKCLOSE_NO_FD once it no longer listens.
    case 'listening-server':
      return name === 'closeWouldReset' ? returns((value) => expect(value).toBe(false)) : typeError();
    case 'closed-server':
      return name === 'closeWouldReset' ? coded('ERR_SOCKCLOSE_NO_FD') : typeError();
    case 'udp-socket':
      // Said to be UDP, as a UDP descriptor is (lingeringClose() too).
      return coded('ERR_SOCKCLOSE_NOT_TCP', TypeError);
    case 'out-of-range':
      return rangeError;
    case 'closed-fd':
      return name === 'socketFd' ? returnsNumber : system('EBADF');
    case 'file-fd':
    case 'fifo-fd':
      return name === 'socketFd' ? returnsNumber : system('ENOTSOCK');
    case 'udp-fd':
      return name === 'socketFd' ? returnsNumber : coded('ERR_SOCKCLOSE_NOT_TCP', TypeError);
    case 'listening-fd':
      if (name === 'getLinger') return returnsNoLinger;
      return quietSocket(name, { state: 'LISTEN', family: 'IPv4', pendingError: null }) ?? 'unclear';
    case 'destroyed-socket':
      return coded('ERR_SOCKCLOSE_CLOSED');
    case 'never-connected':
      return coded('ERR_SOCKCLOSE_NO_FD');
    case 'connecting-no-fd':
      // hardReset resets it once connected; shutdownWrite ends it once connected (both documented).
      if (name === 'hardReset') return returnsNothing;
      if (name === 'shutdownWrite') return returnsNothing;
      return coded('ERR_SOCKCLOSE_NO_FD');
    case 'syn-sent':
      if (name === 'getLinger') return returnsNoLinger;
      if (name === 'setLinger' || name === 'hardReset') return returnsNothing; // hardReset: deferred until the connect completes
      return quietSocket(name, { state: 'SYN_SENT', unreadBytes: 0, pendingError: null }) ?? 'unclear';
    case 'unix-socket':
      if (name === 'setLinger' || name === 'getLinger' || name === 'hardReset') return coded('ERR_SOCKCLOSE_NOT_TCP', TypeError);
      if (name === 'shutdownWrite') return returnsNothing;
      // Else lingeringClose, a valid input: the lingering-close suite covers it.
      return quietSocket(name, { family: 'unix', state: 'ESTABLISHED', tcp: null }) ?? 'skip';
    case 'tls-over-js':
      if (name === 'shutdownWrite') return returnsNothing; // end(): works without a descriptor
      return { error: Error, code: 'ERR_SOCKCLOSE_NO_FD', fields: { message: expect.stringContaining('JSStream') } };
    default:
      throw new Error(`no expectation for ${kind}`);
  }
}

type Outcome = { threw: true; error: unknown; sync: boolean } | { threw: false; value: unknown };

/** Calls `call(target)`, awaiting a promise (bounded), and says how it ended. */
async function attempt(call: Call, target: unknown): Promise<Outcome> {
  let result: unknown;
  try {
    result = call(target as never);
  } catch (error) {
    return { threw: true, error, sync: true };
  }
  if (!(result instanceof Promise)) return { threw: false, value: result };
  try {
    return { threw: false, value: await within(result, 5000, 'the call to settle') };
  } catch (error) {
    return { threw: true, error, sync: false };
  }
}

function check(outcome: Outcome, want: Expected, name: Name, context: string): void {
  const isPromiseApi = name === 'shutdownWrite' || name === 'lingeringClose';
  if (want === 'unclear' || want === 'skip') {
    // Safety only: a throw, if any, carries a stable code.
    if (outcome.threw) expect((outcome.error as { code?: unknown }).code, context).toEqual(expect.any(String));
    return;
  }
  if ('result' in want) {
    expect(outcome, context).toMatchObject({ threw: false });
    want.result((outcome as { value: unknown }).value);
    return;
  }
  expect(outcome.threw, `${context}: expected ${want.code}, got ${outcome.threw ? '' : 'no error'}`).toBe(true);
  const { error, sync } = outcome as { error: Error; sync: boolean };
  expect(error, context).toBeInstanceOf(want.error);
  expect(error, context).toMatchObject({ code: want.code, ...want.fields });
  // Promise-returning functions reject, never throw (documented for shutdownWrite; lingeringClose
  // is an async function).
  expect(sync, `${context}: ${isPromiseApi ? 'must reject, not throw' : 'must throw synchronously'}`).toBe(!isPromiseApi);
}

let canary: Canary;
let stuck: StuckListener;

beforeAll(async () => {
  canary = await createCanary();
  stuck = await StuckListener.start();
});

afterAll(async () => {
  await canary?.close();
  await stuck?.stop();
});

/** Runs `body` on a fresh TCP pair, then closes the pair. */
async function withPair(body: (pair: Awaited<ReturnType<typeof tcpPair>>) => Promise<void>): Promise<void> {
  const pair = await tcpPair();
  try {
    await body(pair);
  } finally {
    pair.server.destroy();
    pair.client.destroy();
    pair.listener.close();
  }
}

async function runCase(target: HostileTarget, name: Name): Promise<void> {
  const want = expected(name, target.kind);
  if (want === 'skip') return;
  const cleanups: Cleanups = [];
  try {
    let made = await target.make(cleanups);
    const context = `${name}(${target.label})`;
    if (target.kind === 'connecting-no-fd') made = (made as { connectNow: () => unknown }).connectNow();
    const outcome = await attempt(CALLS[name]!, made);
    check(outcome, want, name, context);
    canary.expectUntouched(context);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

describe('every public function × hostile targets: the documented error, and no other descriptor touched', () => {
  const targets = [...WRONG_TYPES, ...OUT_OF_RANGE, ...resourceTargets(() => stuck)];
  for (const name of Object.keys(CALLS) as Name[]) {
    it(`${name}()`, async () => {
      for (const target of targets) await runCase(target, name);
    });
  }
});

describe('a destroyed socket whose descriptor number now belongs to another connection', () => {
  it('every function refuses it with ERR_SOCKCLOSE_CLOSED and the new owner is untouched', async () => {
    const old = await tcpPair();
    const listener = await canaryListener();
    const number = sockclose.socketFd(old.client);
    const closed = new Promise((resolve) => old.client.once('close', resolve));
    old.client.destroy();
    await closed;
    // The lowest free number goes to the next descriptor: the new canary's peer gets the old one.
    const heir = await createCanary(listener);
    try {
      expect(sockclose.socketFd(heir.peer), 'the number was reused by the new connection (else this test proves nothing)').toBe(number);
      for (const name of Object.keys(CALLS) as Name[]) {
        const outcome = await attempt(CALLS[name]!, old.client);
        check(outcome, coded('ERR_SOCKCLOSE_CLOSED'), name, `${name}(destroyed socket, fd ${number} reused)`);
        heir.expectUntouched(`${name}() on the destroyed socket`);
        canary.expectUntouched(`${name}() on the destroyed socket`);
      }
    } finally {
      old.server.destroy();
      old.listener.close();
      await heir.close();
    }
  });
});

describe('setLinger() arguments: a rejected call changes nothing', () => {
  const seconds: [string, unknown, Expected][] = [
    ["'1'", '1', typeError()],
    ['null', null, typeError()],
    ['undefined', undefined, typeError()],
    ['true', true, typeError()],
    ['1n', 1n, typeError()],
    ['{}', {}, typeError()],
    ['-1', -1, rangeError],
    ['0.5', 0.5, rangeError],
    ['NaN', Number.NaN, rangeError],
    ['Infinity', Infinity, rangeError],
    ['65536', 65536, rangeError],
    ['2**31', 2 ** 31, rangeError],
  ];
  const options: [string, unknown, Expected][] = [
    ['null', null, typeError()],
    ["'blocking'", 'blocking', typeError()],
    ['1', 1, typeError()],
    // An array is an object to typeof, not to Node's option validators.
    ['[]', [], typeError()],
    ["{ blocking: 'yes' }", { blocking: 'yes' }, typeError()],
    ['{ blocking: 1 }', { blocking: 1 }, typeError()],
  ];

  it.each(seconds)('seconds = %s', async (_, value, want) => {
    const pair = await tcpPair();
    try {
      sockclose.setLinger(pair.server, 3, { blocking: true });
      check(await attempt((t) => sockclose.setLinger(t, value as number), pair.server), want, 'setLinger', `setLinger(socket, ${String(value)})`);
      expect(sockclose.getLinger(pair.server)).toEqual({ enabled: true, seconds: 3, emulated: false });
      canary.expectUntouched('setLinger with bad seconds');
    } finally {
      sockclose.hardReset(pair.server);
      pair.client.on('error', () => undefined).destroy();
      pair.listener.close();
    }
  });

  it.each(options)('options = %s', async (_, value, want) => {
    await withPair(async (pair) => {
      check(await attempt((t) => sockclose.setLinger(t, 0, value as object), pair.server), want, 'setLinger', `setLinger(socket, 0, ${String(value)})`);
      expect(sockclose.getLinger(pair.server)).toEqual({ enabled: false, seconds: 0, emulated: false });
    });
  });

  it('a positive linger on a raw descriptor without { blocking: true }: ERR_SOCKCLOSE_BLOCKING_LINGER, nothing set', async () => {
    await withPair(async (pair) => {
      const fd = sockclose.socketFd(pair.server);
      check(await attempt((t) => sockclose.setLinger(t, 5), fd), coded('ERR_SOCKCLOSE_BLOCKING_LINGER'), 'setLinger', 'setLinger(fd, 5)');
      expect(sockclose.getLinger(fd)).toEqual({ enabled: false, seconds: 0, emulated: false });
    });
  });
});

describe('lingeringClose() options: a rejected call leaves the socket open and unchanged', () => {
  const cases: [string, unknown, Expected][] = [
    ['null', null, typeError()],
    ["'fast'", 'fast', typeError()],
    ["{ idleTimeout: '5' }", { idleTimeout: '5' }, typeError()],
    ['{ idleTimeout: 0 }', { idleTimeout: 0 }, rangeError],
    ['{ idleTimeout: -1 }', { idleTimeout: -1 }, rangeError],
    ['{ idleTimeout: 1.5 }', { idleTimeout: 1.5 }, rangeError],
    ['{ idleTimeout: NaN }', { idleTimeout: Number.NaN }, rangeError],
    ['{ maxTimeout: 2**31 }', { maxTimeout: 2 ** 31 }, rangeError],
    ['{ maxDrainBytes: -1 }', { maxDrainBytes: -1 }, rangeError],
    ['{ maxDrainBytes: Infinity }', { maxDrainBytes: Infinity }, rangeError],
    ["{ onTimeout: 'explode' }", { onTimeout: 'explode' }, coded('ERR_INVALID_ARG_VALUE', TypeError)],
  ];

  it.each(cases)('options = %s', async (label, value, want) => {
    await withPair(async (pair) => {
      check(await attempt((t) => sockclose.lingeringClose(t, value as object), pair.server), want, 'lingeringClose', `lingeringClose(socket, ${label})`);
      expect(pair.server.destroyed, 'not destroyed').toBe(false);
      expect(pair.server.writableEnded, 'not ended').toBe(false);
      expect(sockclose.inspectSocket(pair.server).state).toBe('ESTABLISHED');
      // Still fully usable: a byte goes through.
      const got = new Promise((resolve) => pair.client.once('data', resolve));
      pair.server.write('x');
      await within(got, 5000, 'a byte after the rejected call');
      canary.expectUntouched(`lingeringClose(socket, ${label})`);
    });
  });
});
