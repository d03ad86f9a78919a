// The lean screens (issue 11): on a live TCP socket, peekSocketError() first polls (pollRevents)
// and closeWouldReset() first reads SO_LINGER and the unread count (resetHints); only a socket the
// screen cannot clear pays the full probe. Held here to give exactly what the full probe gives, on
// real connections in every state that matters, and the native screens to report the same facts
// as the probe record.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, tcpPair } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { nextEvent, until } from '../helpers/wait.js';

const require = createRequire(import.meta.url);
const lib = path.join(root, 'lib');
const { binding, record } = require(path.join(lib, 'native', 'binding.js')) as typeof import('../../lib/native/binding.js');
const layout = require(path.join(lib, 'native', 'layout.js')) as typeof import('../../lib/native/layout.js');
const { linux } = require(path.join(lib, 'platform', 'linux.js')) as typeof import('../../lib/platform/linux.js');
const { bsd } = require(path.join(lib, 'platform', 'bsd.js')) as typeof import('../../lib/platform/bsd.js');
const { aix } = require(path.join(lib, 'platform', 'aix.js')) as typeof import('../../lib/platform/aix.js');
const { FINISHING_STATES, RESETTABLE_STATES, finishing, resettable, resettableOrFinishing } = require(path.join(lib, 'platform', 'resettable.js')) as typeof import('../../lib/platform/resettable.js');
const { Field, ResetHint, Slot, State } = layout;
const { closeWouldReset, hardReset, inspectSocket, peekSocketError, setLinger, socketFd } = sockclose;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A pair whose server side never reads (pauseOnConnect): its input stays unread in the kernel. */
async function pair(): Promise<{ client: net.Socket; server: net.Socket }> {
  const { client, server, listener } = await tcpPair({ server: { pauseOnConnect: true } });
  client.on('error', () => {});
  server.on('error', () => {});
  cleanups.push(() => closeServer(listener));
  cleanups.push(() => void server.destroy());
  cleanups.push(() => void client.destroy());
  return { client, server };
}

/** The server socket, in a named state; resolves once the kernel is in it. */
const STATES: Record<string, () => Promise<net.Socket>> = {
  async connected() {
    return (await pair()).server;
  },
  async 'unread bytes'() {
    const { client, server } = await pair();
    client.write('unread');
    await until(() => inspectSocket(server).unreadBytes === 6, 5000, 'the bytes to arrive');
    return server;
  },
  async 'peer FIN'() {
    const { client, server } = await pair();
    client.end();
    await until(() => inspectSocket(server).state === 'CLOSE_WAIT', 5000, 'the FIN to arrive');
    return server;
  },
  async 'peer FIN after bytes'() {
    const { client, server } = await pair();
    client.end('last words');
    await until(() => inspectSocket(server).state === 'CLOSE_WAIT', 5000, 'the FIN to arrive');
    return server;
  },
  async 'peer reset'() {
    const { client, server } = await pair();
    hardReset(client);
    await until(() => inspectSocket(server).state === 'CLOSE', 5000, 'the reset to arrive');
    return server;
  },
  async 'peer reset after bytes'() {
    const { client, server } = await pair();
    client.write('request', () => hardReset(client));
    await nextEvent(client, 'close');
    await until(() => inspectSocket(server).state === 'CLOSE', 5000, 'the reset to arrive');
    return server;
  },
  async 'abortive linger'() {
    const { server } = await pair();
    setLinger(server, 0);
    return server;
  },
  async 'abortive linger, peer FIN'() {
    const { client, server } = await pair();
    setLinger(server, 0);
    client.end();
    await until(() => inspectSocket(server).state === 'CLOSE_WAIT', 5000, 'the FIN to arrive');
    return server;
  },
  async 'timed linger, unread bytes'() {
    const { client, server } = await pair();
    setLinger(server, 5, { blocking: true });
    client.write('x');
    await until(() => inspectSocket(server).unreadBytes === 1, 5000, 'the byte to arrive');
    return server;
  },
};

/** What a pending error compares by. */
function shape(error: ReturnType<typeof peekSocketError>) {
  return error === null ? null : { code: error.code, errno: error.errno, syscall: error.syscall, inferred: error.inferred };
}

describe('the probe screens give what the full probe gives', () => {
  for (const [name, make] of Object.entries(STATES)) {
    it(`on a socket in state "${name}"`, async () => {
      const socket = await make();
      const fd = socketFd(socket);
      const native = binding()!;

      // The public answers, screened, against inspectSocket() (one full probe of every field).
      const full = inspectSocket(socket);
      expect(shape(peekSocketError(socket))).toEqual(shape(full.pendingError));
      expect(closeWouldReset(socket)).toBe(full.closeWouldReset);

      // The native screens against the record, fact by fact.
      const revents = native.pollRevents(fd);
      expect(native.probe(fd, Field.poll | Field.tcp)).toBe(0);
      expect(revents).toBe(record[Slot.revents]);

      const hints = native.resetHints(fd);
      expect(native.probe(fd, Field.unread | Field.linger | Field.tcp)).toBe(0);
      const abortive = record[Slot.lingerEnabled] === 1 && record[Slot.lingerSeconds] === 0;
      const unread = record[Slot.unread]! > 0;
      expect(hints & ResetHint.abortive).toBe(abortive ? ResetHint.abortive : 0);
      expect(hints & ResetHint.unread).toBe(unread ? ResetHint.unread : 0);
      expect(hints & ResetHint.unsent).toBe((abortive || unread) && record[Slot.unsent]! > 0 ? ResetHint.unsent : 0);
      expect(hints >> ResetHint.stateShift).toBe(abortive || unread ? record[Slot.state] : 0);
      // And Linux's rule says the same from either.
      expect(linux.closeWouldResetByHints(hints)).toBe(linux.closeWouldReset(record, 'tcp'));
    });
  }

  it('the expected answers, as a check on the states above', async () => {
    const expected: Record<string, [string | null, boolean]> = {
      connected: [null, false],
      'unread bytes': [null, true],
      'peer FIN': [null, false],
      'peer FIN after bytes': [null, true],
      'peer reset': ['ECONNRESET', false],
      'peer reset after bytes': ['ECONNRESET', false],
      'abortive linger': [null, true],
      'abortive linger, peer FIN': [null, true],
      'timed linger, unread bytes': [null, true],
    };
    for (const [name, [code, resets]] of Object.entries(expected)) {
      const socket = await STATES[name]!();
      expect([name, peekSocketError(socket)?.code ?? null, closeWouldReset(socket)]).toEqual([name, code, resets]);
    }
  });

  it('fails like the full probe on a descriptor that is not a socket', () => {
    const file = fs.openSync(path.join(root, 'package.json'), 'r');
    try {
      const native = binding()!;
      expect(native.resetHints(file)).toBe(native.probe(file, Field.unread | Field.linger | Field.tcp));
      expect(native.resetHints(file)).toBeLessThan(0);
    } finally {
      fs.closeSync(file);
    }
  });
});

describe('each platform decides closeWouldReset() from the hints as from the record', () => {
  it('resettable(), finishing() and resettableOrFinishing() (bit masks) are their sets of states', () => {
    for (let state = -1; state <= 40; state++) {
      expect([state, resettable(state), finishing(state), resettableOrFinishing(state)]).toEqual([
        state,
        RESETTABLE_STATES.has(state),
        FINISHING_STATES.has(state),
        RESETTABLE_STATES.has(state) || FINISHING_STATES.has(state),
      ]);
    }
    expect(RESETTABLE_STATES.size).toBe(5);
    expect([...FINISHING_STATES].sort()).toEqual([State.LAST_ACK, State.CLOSING].sort());
  });

  // The BSD and AIX rules cannot run on this Linux machine against their kernels; their two
  // readings are compared over every combination of the facts the hints carry.
  const states = [-1, ...Object.values(State)];
  const rules = { linux, darwin: bsd('darwin'), openbsd: bsd('openbsd'), aix: aix('aix') };
  for (const [name, rule] of Object.entries(rules)) {
    it(name, () => {
      for (const lingerEnabled of [-1, 0, 1]) {
        for (const lingerSeconds of [-1, 0, 7]) {
          for (const unread of [-1, 0, 3]) {
            for (const unsent of [-1, 0, 5]) {
              for (const state of states) {
                const facts = new Float64Array(layout.SLOT_NAMES.length).fill(-1);
                Object.assign(facts, {
                  [Slot.lingerEnabled]: lingerEnabled,
                  [Slot.lingerSeconds]: lingerSeconds,
                  [Slot.unread]: unread,
                  [Slot.unsent]: unsent,
                  [Slot.state]: state,
                });
                const abortive = lingerEnabled === 1 && lingerSeconds === 0;
                const hintBits = (abortive ? ResetHint.abortive : 0) | (unread > 0 ? ResetHint.unread : 0);
                const hints = hintBits === 0 ? 0 : hintBits | (unsent > 0 ? ResetHint.unsent : 0) | (Math.max(state, 0) << ResetHint.stateShift);
                const verdict = rule.closeWouldResetByHints(hints);
                if (verdict !== null) {
                  const known = [lingerEnabled, lingerSeconds, unread, unsent, state];
                  expect([...known, verdict]).toEqual([...known, rule.closeWouldReset(facts, 'tcp')]);
                }
              }
            }
          }
        }
      }
      // No hint is always decided (the common case never pays the full probe).
      expect(rule.closeWouldResetByHints(0)).toBe(false);
    });
  }
});
