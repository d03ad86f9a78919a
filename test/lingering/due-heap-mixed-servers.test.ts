// The native lingerer's due heap under mixed traffic: several servers with different idle and total
// timeouts lingering at once, on TCP and AF_UNIX, with peers that stay silent (each must end at its
// own idle deadline: neither early nor late), peers that finish early (entries leaving from the
// middle, their slots reused by later lingers), trickling peers (entries moving later on each byte,
// ended at their total cap), single cuts (a close's signal: Cut()) and a server's cut (its signal:
// CutGroup()) while the others linger. A mis-ordered heap shows as a silent peer held past its
// deadline (the timer armed for another entry) or as a count left lingering.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, tempDir } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { until, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';
import type { Report } from './reporting-server.js';

const { enableLingeringClose, lingeringClose } = sockclose;
const cleanups = cleanupsAfterEach();

// Slack for a loaded machine's timers (ASan, a busy neighbour): a heap that lost an entry's
// position holds it to another's deadline, seconds off, or forever.
const LATE_MS = 600;

type Kind = 'silent' | 'early' | 'trickle';

describe('native lingerer: the due heap under mixed traffic', () => {
  it('silent peers end at their own idle deadline among early finishers, tricklers and cuts, on several servers and AF_UNIX', async () => {
    const PER_KIND = 25;
    const clients: net.Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    cleanups.add(() => {
      timers.forEach((timer) => clearInterval(timer));
      clients.forEach((client) => client.destroy());
    });
    const track = (client: net.Socket) => {
      clients.push(client);
      client.on('error', () => {});
      return client;
    };

    // Three TCP servers, each with silent, early and trickling peers (told apart by the peer's port).
    // An early peer's FIN must reach the kernel before its linger's idle deadline: with both due
    // (a stall of this process), the timers run first and its end() is sent only in the poll after
    // them. Half of the idle timeout, at least 500 ms, is left between its last FIN and the
    // deadline (80 % of 500 ms once left 100 ms), and a trickler's byte comes every quarter of it.
    const plans = [
      { idle: 1000, max: 1800 },
      { idle: 1300, max: 2200 },
      { idle: 1600, max: 2600 },
    ];
    const tcp = await Promise.all(
      plans.map(async (plan) => {
        const kindOfPort = new Map<number, Kind>();
        const byKind = new Map<Kind, Report[]>([
          ['silent', []],
          ['early', []],
          ['trickle', []],
        ]);
        const peerPort = new WeakMap<net.Socket, number>();
        const server = net.createServer({ pauseOnConnect: true }, (socket) => {
          peerPort.set(socket, socket.remotePort!);
          socket.on('error', () => {});
          socket.write('hello');
          socket.destroy();
        });
        const control = enableLingeringClose(server, {
          idleTimeout: plan.idle,
          maxTimeout: plan.max,
          onReport: (report, socket) => byKind.get(kindOfPort.get(peerPort.get(socket)!)!)!.push(report),
        });
        await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, resolve));
        cleanups.add(() => closeServer(server), control);
        return { plan, server, control, kindOfPort, byKind };
      }),
    );

    // Single cuts: each close has its own signal, aborted while everything else lingers.
    const cutReports: Report[] = [];
    const aborts: AbortController[] = [];
    const cutServer = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      socket.write('hello');
      const abort = new AbortController();
      aborts.push(abort);
      void lingeringClose(socket, { idleTimeout: 5000, maxTimeout: 10_000, signal: abort.signal }).then((report) => cutReports.push(report as Report));
    });
    await listen(cutServer);
    cleanups.add(() => closeServer(cutServer));

    // A server's cut: its signal aborts every linger of its group at once.
    const groupAbort = new AbortController();
    const groupReports: Report[] = [];
    const groupServer = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      socket.write('hello');
      socket.destroy();
    });
    const groupControl = enableLingeringClose(groupServer, {
      idleTimeout: 5000,
      maxTimeout: 10_000,
      signal: groupAbort.signal,
      onReport: (report) => groupReports.push(report),
    });
    await listen(groupServer);
    cleanups.add(() => closeServer(groupServer), groupControl);

    // AF_UNIX: silent peers under an idle timeout of their own.
    const UNIX_IDLE = 650;
    const dir = tempDir();
    cleanups.add(() => fs.rmSync(dir, { recursive: true, force: true }));
    const unixReports: Report[] = [];
    const unixServer = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      socket.write('hello');
      socket.destroy();
    });
    const unixControl = enableLingeringClose(unixServer, { idleTimeout: UNIX_IDLE, maxTimeout: 5000, onReport: (report) => unixReports.push(report) });
    await listen(unixServer, { path: path.join(dir, 's.sock') });
    cleanups.add(() => closeServer(unixServer), unixControl);

    // Every peer reads our response and FIN, never sends its own FIN unless its kind says so.
    const connected: Promise<void>[] = [];
    const connect = (options: net.NetConnectOpts, onConnect: (client: net.Socket) => void) => {
      const client = track(net.connect({ ...options, allowHalfOpen: true }));
      client.resume();
      connected.push(new Promise((resolve) => client.once('connect', () => (onConnect(client), resolve()))));
      return client;
    };
    for (let i = 0; i < PER_KIND; i++) {
      for (const { plan, server, kindOfPort } of tcp) {
        for (const kind of ['silent', 'early', 'trickle'] as const) {
          const client = connect({ port: portOf(server), host: '127.0.0.1' }, (c) => kindOfPort.set(c.localPort!, kind));
          // The peer's own pace, not synchronisation: an early peer finishes somewhere in its
          // linger's first half, a trickler sends a byte every quarter idle timeout until cut off.
          if (kind === 'early') client.once('end', () => timers.push(setTimeout(() => client.end(), Math.floor(((i + 1) / PER_KIND) * 0.5 * plan.idle))));
          if (kind === 'trickle') client.once('end', () => timers.push(setInterval(() => client.writable && client.write('.'), plan.idle / 4)));
        }
      }
      connect({ port: portOf(cutServer), host: '127.0.0.1' }, () => {});
      connect({ port: portOf(groupServer), host: '127.0.0.1' }, () => {});
      connect({ path: path.join(dir, 's.sock') }, () => {});
    }
    await within(Promise.all(connected), 20_000, 'every connection');

    const lingering = () => tcp.reduce((sum, { control }) => sum + control.stats().lingering, 0);
    // Everything handed over: then the cuts, one by one and the whole group, while the rest lingers.
    await until(() => aborts.length === PER_KIND && groupControl.stats().lingering === PER_KIND, 10_000, 'the lingers to be cut to start');
    expect(lingering()).toBeGreaterThan(0);
    for (const abort of aborts) abort.abort();
    groupAbort.abort();

    const tally = () =>
      `${tcp.map(({ plan, byKind }) => `idle ${plan.idle}: ${[...byKind].map(([kind, reports]) => `${kind} ${reports.length}`).join(' ')}`).join('; ')}; cut ${cutReports.length}, group ${groupReports.length}, unix ${unixReports.length}`;
    await until(
      () =>
        tcp.every(({ byKind }) => [...byKind.values()].every((reports) => reports.length === PER_KIND)) &&
        cutReports.length === PER_KIND &&
        groupReports.length === PER_KIND &&
        unixReports.length === PER_KIND,
      15_000,
      'every report',
    ).catch((error: Error) => {
      throw new Error(`${error.message} (${tally()})`);
    });

    for (const { plan, byKind, control } of tcp) {
      for (const report of byKind.get('silent')!) {
        expect(report.reason).toBe('idle-timeout');
        expect(report.durationMs).toBeGreaterThanOrEqual(plan.idle - 10);
        expect(report.durationMs).toBeLessThan(plan.idle + LATE_MS);
      }
      for (const report of byKind.get('early')!) {
        expect(report.reason).toBe('eof');
        expect(report.durationMs).toBeLessThan(plan.idle);
      }
      for (const report of byKind.get('trickle')!) {
        expect(report.reason).toBe('max-timeout');
        expect(report.durationMs).toBeGreaterThanOrEqual(plan.max - 10);
        expect(report.durationMs).toBeLessThan(plan.max + LATE_MS);
      }
      expect(control.stats().lingering).toBe(0);
    }
    for (const report of [...cutReports, ...groupReports]) expect(report.reason).toBe('aborted');
    for (const report of unixReports) {
      expect(report.reason).toBe('idle-timeout');
      expect(report.durationMs).toBeGreaterThanOrEqual(UNIX_IDLE - 10);
      expect(report.durationMs).toBeLessThan(UNIX_IDLE + LATE_MS);
    }
    expect(unixControl.stats().lingering).toBe(0);
  });
});
