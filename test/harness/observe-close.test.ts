// observeClose() on plain loopback sockets, each end produced with the core primitives: the
// verdict (who ended it, FIN or RST, the kernel's error) must match what was done.
import fs from 'node:fs';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { CloseObservation } from '../../lib/harness/index.js';
import { harness } from './load.js';
import { expectNodeReportOfReset, libuvReadsResetAsError } from './node-reports.js';
import { sockclose } from '../helpers/sockclose.js';
import { refusingPort, tcpPair, unixPair } from '../helpers/net.js';
import { nextEvent, until, within } from '../helpers/wait.js';

const { observeClose } = harness;
const { hardReset, lingeringClose } = sockclose;

const opened: Array<{ close(): unknown } | net.Socket> = [];
afterEach(() => {
  for (const thing of opened.splice(0)) {
    if (thing instanceof net.Socket) thing.destroy();
    else thing.close();
  }
});

async function pair(options: { clientHalfOpen?: boolean } = {}) {
  const made = await makePair(options);
  // Resets are the point here: a socket the test does not observe must not throw them.
  for (const socket of [made.client, made.server]) {
    socket.on('error', () => {});
    opened.push(socket);
  }
  return made;
}

async function makePair(options: { clientHalfOpen?: boolean }) {
  const { client, server, listener } = await tcpPair({ clientHalfOpen: options.clientHalfOpen === true });
  opened.push(listener);
  return { client, server };
}

/** A pair whose both sides stay open after the other's FIN (Node answers none by itself). */
async function halfOpenPair() {
  const { client, server, listener } = await tcpPair({ server: { allowHalfOpen: true }, clientHalfOpen: true });
  opened.push(listener);
  for (const socket of [client, server]) {
    socket.on('error', () => {});
    opened.push(socket);
  }
  return { client, server };
}

const done = (p: Promise<CloseObservation>) => within(p, 10_000, 'the observed socket to close');

describe('observeClose()', () => {
  it("a peer's FIN Node never read (a paused socket), then our close: initiator peer", async () => {
    // The FIN is seen only by the look at destroy(), timed a little after the destroy itself: it
    // still came first (that look precedes the close that sends ours).
    const { client, server } = await halfOpenPair();
    server.pause();
    const observed = observeClose(server);
    client.end();
    await until(() => sockclose.inspectSocket(server).peerFinReceived === true, 5000, "the client's FIN in the server's kernel");
    server.destroy();
    const o = await done(observed);
    expect(o).toMatchObject({ initiator: 'peer', peer: 'fin', local: 'fin', kernelError: null });
    expect(o.timings.peerEndMs!).toBeLessThanOrEqual(o.timings.localEndMs!);
  });

  it("a peer's FIN: peer fin, initiator peer, state CLOSE_WAIT at Node's EOF", async () => {
    const { client, server } = await pair();
    const observed = observeClose(client);
    client.resume();
    server.end('bye');
    const o = await done(observed);
    expect(o).toMatchObject({
      initiator: 'peer',
      peer: 'fin',
      local: 'fin',
      kernelError: null,
      hiddenReset: false,
      kernelKnows: true,
      side: 'client',
      bytes: { received: 3 },
      state: { atPeerEnd: 'CLOSE_WAIT' },
    });
    expect(o.timings.peerEndMs).not.toBeNull();
    expect(o.events.map((e) => e.event)).toEqual(expect.arrayContaining(['end', 'finish', 'destroy', 'close']));
  });

  it("a peer's RST: peer rst, ECONNRESET from the kernel, whatever Node reported", async () => {
    const { client, server } = await pair();
    const observed = observeClose(client);
    client.resume();
    server.write('partial');
    await nextEvent(client, 'data');
    hardReset(server);
    const o = await done(observed);
    expect(o).toMatchObject({ initiator: 'peer', peer: 'rst', kernelError: 'ECONNRESET', local: 'none', bytes: { received: 7 } });
    // Node either said so, or (libuv <= 1.51) said 'end' and the observer caught the hidden reset.
    expectNodeReportOfReset(o);
  });

  it('our FIN, then the peer resets: rst, not fin-rst, however Node reports it', async () => {
    const { client, server } = await halfOpenPair();
    const observed = observeClose(client);
    client.resume();
    server.resume();
    client.end();
    await nextEvent(server, 'end');
    const late = nextEvent(client, 'data');
    server.write('late');
    await late;
    hardReset(server);
    const o = await done(observed);
    // libuv 1.52 reads the reset's error (ECONNRESET), leaving CLOSE with nothing pending: only
    // the kernel's FIN count says no FIN came from the peer.
    expect(o).toMatchObject({ initiator: 'local', local: 'fin', peer: 'rst', kernelError: 'ECONNRESET', bytes: { received: 4 } });
    expectNodeReportOfReset(o);
  });

  it("data and an RST read together: the wire verdict is the same whether Node says 'end' or 'error'", async () => {
    const { client, server } = await pair();
    const observed = observeClose(client);
    client.pause();
    server.write(Buffer.alloc(5000));
    hardReset(server);
    // Both are in the kernel before Node reads anything (a kernel state with no event).
    await until(() => sockclose.peekSocketError(client) !== null, 2000, 'the reset to reach the client');
    client.resume();
    const o = await done(observed);
    expect(o).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET', local: 'none', bytes: { received: 5000 } });
    if (libuvReadsResetAsError) {
      expect(o.node).toMatchObject({ sawEnd: false, finished: false, error: { code: 'ECONNRESET', syscall: 'read' } });
      expect(o.hiddenReset).toBe(false);
    } else {
      // libuv <= 1.51 reports EOF; Node's auto-end then "finishes" a shutdown(2) on a connection
      // already CLOSE, which sends nothing: local stays 'none'.
      expect(o.node).toMatchObject({ sawEnd: true, finished: true, error: null });
      expect(o.hiddenReset).toBe(true);
    }
  });

  it('this side resets (hardReset): local rst, and the peer observes an RST', async () => {
    const { client, server } = await pair();
    const mine = observeClose(client);
    const theirs = observeClose(server);
    server.resume();
    hardReset(client);
    const o = await done(mine);
    expect(o).toMatchObject({ initiator: 'local', local: 'rst', peer: 'none', kernelError: null });
    expect(o.snapshots[0]).toMatchObject({ at: 'destroy', abortive: true, closeWouldReset: true });
    expect(await done(theirs)).toMatchObject({ initiator: 'peer', peer: 'rst', kernelError: 'ECONNRESET' });
  });

  it('this side closes with unread input: local rst, unreadAtClose counted', async () => {
    const { client, server } = await pair();
    const observed = observeClose(client);
    client.pause();
    server.write('unread!');
    await until(() => sockclose.inspectSocket(client).unreadBytes === 7, 2000, 'the bytes to wait unread');
    client.destroy();
    const o = await done(observed);
    expect(o).toMatchObject({ initiator: 'local', local: 'rst', bytes: { received: 0, unreadAtClose: 7 } });
  });

  it('this side ends first: local fin, then the peer fin', async () => {
    const { client, server } = await pair();
    const observed = observeClose(client);
    client.resume();
    server.resume();
    server.once('end', () => server.end());
    client.end();
    const o = await done(observed);
    expect(o).toMatchObject({ initiator: 'local', local: 'fin', peer: 'fin', kernelError: null });
    expect(o.timings.localEndMs!).toBeLessThanOrEqual(o.timings.peerEndMs!);
  });

  // AF_UNIX has no TCP state: inspectSocket's states there are poll()'s, and 'CLOSE' (both
  // directions shut) comes once the peer closed whether or not we had shut down. Read as TCP's
  // CLOSE it made every such end 'none' on our side and the peer its initiator (10 of 10).
  describe('over AF_UNIX', () => {
    async function unix() {
      const { client, server, listener, dir } = await unixPair();
      for (const socket of [client, server]) {
        socket.on('error', () => {});
        opened.push(socket);
      }
      opened.push(listener, { close: () => fs.rmSync(dir, { recursive: true, force: true }) });
      return { client, server };
    }

    it('this side ends first, the peer closes after our EOF: local fin, peer fin, initiator local', async () => {
      const { client, server } = await unix();
      const observed = observeClose(server);
      client.resume();
      server.resume();
      client.once('end', () => client.end());
      server.end('bye');
      const o = await done(observed);
      expect(o).toMatchObject({ initiator: 'local', local: 'fin', peer: 'fin', kernelError: null });
      expect(o.snapshots.every((s) => s.inspectError !== null || s.family === 'unix')).toBe(true);
      expect(o.timings.localEndMs!).toBeLessThanOrEqual(o.timings.peerEndMs!);
    });

    it("the peer ends first, Node answers with our end: peer fin, local fin, initiator peer", async () => {
      const { client, server } = await unix();
      const observed = observeClose(server);
      client.resume();
      server.resume();
      client.end();
      const o = await done(observed);
      expect(o).toMatchObject({ initiator: 'peer', local: 'fin', peer: 'fin', kernelError: null });
    });
  });

  it("Node's own resetAndDestroy() is an RST too", async () => {
    const { client, server } = await pair();
    const observed = observeClose(client);
    server.resume();
    client.resetAndDestroy();
    expect(await done(observed)).toMatchObject({ local: 'rst', node: { nodeReset: true } });
  });

  it('a refused connection: the RST to our SYN, ECONNREFUSED, never connected', async () => {
    const refusing = await refusingPort();
    opened.push(refusing);
    const socket = net.connect(refusing.port, '127.0.0.1');
    const o = await done(observeClose(socket));
    expect(o).toMatchObject({ peer: 'rst', kernelError: 'ECONNREFUSED', node: { error: { code: 'ECONNREFUSED' } } });
    expect(o.timings.connectMs).toBeNull();
  });

  it("sees the real close of a lingering close (after destroy(), the descriptor drains): FIN, not RST", async () => {
    const { client, server } = await pair({ clientHalfOpen: true });
    const observed = observeClose(server, { side: 'server' });
    client.write('unread request');
    await until(() => sockclose.inspectSocket(server).unreadBytes! > 0, 2000, 'the request to wait unread');
    const lingering = lingeringClose(server);
    client.resume();
    client.once('end', () => client.end());
    const o = await done(observed);
    expect((await lingering).reason).toBe('eof');
    expect(o.snapshots.map((s) => s.at)).toContain('final');
    // The linger's look names the socket's family, as the looks before it did.
    expect(o.snapshots.map((s) => s.family)).toEqual(o.snapshots.map(() => 'IPv4'));
    // At destroy() the request was still unread (a close then would reset); at the real close, not.
    expect(o.snapshots.find((s) => s.at === 'destroy')!.closeWouldReset).toBe(true);
    expect(o).toMatchObject({ local: 'fin', side: 'server' });
  });

  it("changes nothing: a paused socket stays paused; destroy() is restored afterwards", async () => {
    const { client, server } = await pair();
    client.pause();
    const flowing = client.readableFlowing;
    const observed = observeClose(client);
    expect(client.readableFlowing).toBe(flowing);
    expect(Object.prototype.hasOwnProperty.call(client, 'destroy')).toBe(true);
    server.end();
    client.resume();
    await done(observed);
    expect(Object.prototype.hasOwnProperty.call(client, 'destroy')).toBe(false);
  });

  it('rejects what it cannot observe', async () => {
    expect(() => observeClose({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' }));
    const { client, server } = await pair();
    server.destroy();
    client.destroy();
    expect(() => observeClose(client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_CLOSED' }));
  });

  it('refuses bad options as Node does: a wrong side is a bad value, a non-object a bad type', async () => {
    const { client } = await pair();
    expect(() => observeClose(client, { side: 'both' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError', message: expect.stringContaining("must be one of: client, server") }),
    );
    expect(() => observeClose(client, { side: 1 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    for (const options of [null, [], 'server']) {
      expect(() => observeClose(client, options as never), String(options)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' }));
    }
  });
});
