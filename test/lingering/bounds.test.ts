// The bounds: a peer that never sends its FIN, or trickles, cannot hold a descriptor past the
// caps; many sockets lingering at once all get their descriptors back; past maxLingering sockets
// close at once and past shortLingerAbove lingers are short, and every fallback is counted.
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, openSockets, portOf, socketsOpenedSince } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { until } from '../helpers/wait.js';
import { cleanupsAfterEach, kernelPeerForFile } from './lifecycle.js';

const { enableLingeringClose, lingeringCloseStats } = sockclose;
type EnableOptions = NonNullable<Parameters<typeof enableLingeringClose>[1]>;

const peer = kernelPeerForFile();
const cleanups = cleanupsAfterEach();

/** A server that answers "hello" and closes (destroySoon(), as http does), never reading the request. */
async function helloServer(options: EnableOptions) {
  const srv = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    socket.write('hello');
    socket.destroySoon();
  });
  const control = enableLingeringClose(srv, options);
  await listen(srv);
  cleanups.add(() => closeServer(srv), control);
  return { port: portOf(srv), control };
}

describe('lingering close bounds', () => {
  it('500 sockets lingering at once: all drained, every descriptor back', async () => {
    const before = openSockets();
    const { port, control } = await helloServer({ idleTimeout: 30_000 });
    const held = await peer.hold(port, 500, 4);
    // Every client got our response and FIN; none has closed: all 500 linger.
    expect(held.ends).toEqual({ eof: 500, open: 0 });
    await until(() => control.stats().lingering === 500, 10_000, '500 sockets lingering');
    expect(socketsOpenedSince(before).length).toBeGreaterThanOrEqual(501);
    await held.release();
    await until(() => control.stats().reasons.eof === 500, 20_000, 'all 500 lingers to end');
    const stats = control.stats();
    expect(stats).toMatchObject({ lingering: 0, peakLingering: 500, shortened: 0, resets: 0, drainedBytes: 2000 });
    await until(() => socketsOpenedSince(before).length <= 1, 10_000, 'the sockets to be closed');
    // The listening socket is the one left; closing it leaves no socket this test opened.
    await cleanups.runNow();
    expect(socketsOpenedSince(before)).toEqual([]);
  });

  it('500 idle peers: each is reset at the idle timeout, every descriptor back', async () => {
    const before = openSockets();
    const { port, control } = await helloServer({ idleTimeout: 300 });
    const held = await peer.hold(port, 500, 4);
    expect(held.ends.eof).toBe(500);
    await until(() => control.stats().reasons['idle-timeout'] === 500, 20_000, 'all 500 idle timeouts');
    expect(control.stats()).toMatchObject({ lingering: 0, resets: 500 });
    await until(() => socketsOpenedSince(before).length <= 1, 10_000, 'the sockets to be closed');
    await held.release();
  });

  it('past maxLingering sockets close at once, past shortLingerAbove lingers are short: all counted', async () => {
    const { port, control } = await helloServer({
      maxLingering: 10,
      shortLingerAbove: 5,
      shortLingerTimeout: 20_000,
      idleTimeout: 20_000,
    });
    const threadBefore = lingeringCloseStats();
    const held = await peer.hold(port, 20, 4);
    // Closing at once with the request unread resets; the others got a clean FIN.
    expect(held.ends.eof).toBeGreaterThanOrEqual(10);
    expect(control.stats()).toMatchObject({ lingering: 10, peakLingering: 10 });
    expect(control.stats().reasons.overload).toBe(10);
    await held.release();
    await until(() => control.stats().lingering === 0, 10_000, 'the lingers to end');
    expect(control.stats()).toMatchObject({ shortened: 5, reasons: expect.objectContaining({ eof: 10, overload: 10 }) });
    // The thread's totals include this server's.
    const threadAfter = lingeringCloseStats();
    expect(threadAfter.reasons.overload - threadBefore.reasons.overload).toBe(10);
    expect(threadAfter.shortened - threadBefore.shortened).toBe(5);
  });

  it('a short linger ends at shortLingerTimeout', async () => {
    const { port, control } = await helloServer({ maxLingering: 2, shortLingerAbove: 0, shortLingerTimeout: 200, idleTimeout: 20_000 });
    const seen = await peer.run({ port, steps: [{ send: 4 }, { recvEnd: true }, { trickle: { everyMs: 40 } }] });
    expect(['ECONNRESET', 'EPIPE']).toContain(seen.sendError);
    await until(() => control.stats().reasons['max-timeout'] === 1, 5000, 'the short linger to end');
    expect(control.stats()).toMatchObject({ shortened: 1, resets: 1 });
  });

  it('a trickling peer is cut at maxTimeout under enableLingeringClose too', async () => {
    const before = openSockets();
    // The idle timeout leaves the peer's process room to stall between two bytes (560 ms).
    const { port, control } = await helloServer({ idleTimeout: 600, maxTimeout: 1200 });
    const seen = await peer.run({ port, steps: [{ send: 4 }, { recvEnd: true }, { trickle: { everyMs: 40 } }] });
    expect(['ECONNRESET', 'EPIPE']).toContain(seen.sendError);
    await until(() => control.stats().reasons['max-timeout'] === 1, 5000, 'the linger to end');
    expect(control.stats().drainedBytes).toBeGreaterThan(4);
    await until(() => socketsOpenedSince(before).length <= 1, 5000, 'the socket to be closed');
  });
});
