// The epoll poller's entries are one-shot and left to the close (native/poller_epoll.cc): closing
// our descriptor drops a connection's entry only if it was the socket's last one. Here a child
// process holds the socket too (inherited, as between a fork() and its exec()), so the entry
// outlives the linger: it still fires when the peer writes, with a key the lingerer no longer
// knows. It must be ignored (no crash, no use of a freed connection; ASan runs this file too), fire
// only once (one-shot: no busy loop), and leave later lingers working.
import { spawn } from 'node:child_process';
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';
import { entriesFor, epollPoller, EPOLLIN, EPOLLONESHOT, inodeOf } from './watch-entries.js';

const { enableLingeringClose, socketFd } = sockclose;
type LingerReport = Parameters<NonNullable<NonNullable<Parameters<typeof enableLingeringClose>[1]>['onReport']>>[0];
const cleanups = cleanupsAfterEach();

/** Our process's epoll entries for the socket of inode `inode`: each one's event mask. */
const epollEntriesFor = (inode: number): number[] => entriesFor(inode).map((entry) => entry.mask);

describe.runIf(epollPoller)('a lingering socket whose descriptor another process also holds', () => {
  it("ignores the entry its close left behind, which fires once; later lingers are unaffected", async () => {
    const reports: LingerReport[] = [];
    const reported = new Set<() => void>();
    const server = net.createServer();
    const control = enableLingeringClose(server, {
      idleTimeout: 100,
      onReport: (report) => {
        reports.push(report);
        reported.forEach((wake) => wake());
      },
    });
    await listen(server);
    cleanups.add(() => closeServer(server), control);
    const reportCount = (count: number) =>
      within(
        new Promise<void>((resolve) => {
          const check = () => reports.length >= count && (reported.delete(check), resolve());
          reported.add(check);
          check();
        }),
        10_000,
        `${count} linger report(s)`,
      );

    // The first connection's socket, shared with a child that keeps it until its stdin ends.
    const accepted = nextEvent<[net.Socket]>(server, 'connection');
    // Half-open: it neither answers our FIN nor closes (a silent peer).
    const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
    cleanups.add(() => void client.destroy());
    client.on('error', () => {});
    const [socket] = await accepted;
    const inode = inodeOf(socketFd(socket));
    const holder = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'inherit', socketFd(socket)] });
    cleanups.add(() => void holder.kill());
    await nextEvent(holder, 'spawn', 10_000);

    // A silent peer: watched after the first read, then ended by the idle timeout.
    const ended = nextEvent(client, 'end', 10_000);
    socket.destroy();
    await ended;
    await reportCount(1);
    expect(reports[0]!.reason).toBe('idle-timeout');
    // The premise: our descriptor is closed, the entry is still there (the child holds the socket),
    // armed.
    const [mask] = epollEntriesFor(inode);
    expect(epollEntriesFor(inode)).toHaveLength(1);
    expect(mask! & EPOLLIN).toBe(EPOLLIN);

    // The peer writes: the entry fires, is ignored, and is disarmed (one-shot) rather than reported
    // again on every turn of the loop.
    client.write('after the linger ended');
    await until(() => (epollEntriesFor(inode)[0] ?? 0) === EPOLLONESHOT, 10_000, 'the stale entry to fire once');
    expect(reports).toHaveLength(1);

    // Later lingers: a peer that answers our FIN ends as 'eof', one report each.
    for (let i = 0; i < 3; i++) {
      const next = nextEvent<[net.Socket]>(server, 'connection');
      const peer = net.connect(portOf(server), '127.0.0.1');
      cleanups.add(() => void peer.destroy());
      peer.on('end', () => peer.end());
      (await next)[0].destroy();
      await reportCount(2 + i);
      expect(reports[1 + i]!.reason).toBe('eof');
    }

    // The child lets go: the socket's last descriptor closes, and its entry goes with it.
    const exited = nextEvent(holder, 'exit', 10_000);
    holder.stdin!.end();
    await exited;
    await until(() => epollEntriesFor(inode).length === 0, 10_000, "the entry to go with the socket's last descriptor");
    expect(reports).toHaveLength(4);
    expect(control.stats().lingering).toBe(0);
  });
});
