// A socket given to a plain net server (`server.emit('connection', socket)`) before lingering close
// was enabled on it: Node records nothing of the hand-over (the socket's `server` still names the
// server that accepted it), and the enable's 'connection' listener was not there to mark it, so its
// close is not the lingering server's. docs/lingering.md said "already open included" of every
// connection of the server and "those given to it", with no word of when; it says now that a
// socket given before the enable closes as Node closes it. One given after the enable lingers.
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';

const { enableLingeringClose } = sockclose;
type LingerReport = Parameters<NonNullable<NonNullable<Parameters<typeof enableLingeringClose>[1]>['onReport']>>[0];
const cleanups = cleanupsAfterEach();

describe('a socket given to a net server before lingering close was enabled on it', () => {
  it('closes as Node closes it; one given after the enable lingers', async () => {
    const held: net.Socket[] = [];
    const target = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.resume();
      held.push(socket);
    });
    const front = net.createServer((socket) => target.emit('connection', socket));
    await listen(front);
    cleanups.add(() => closeServer(front));
    const connect = (): net.Socket => {
      const socket = net.connect({ port: portOf(front), host: '127.0.0.1', allowHalfOpen: true });
      socket.on('error', () => {});
      socket.resume();
      cleanups.add(() => void socket.destroy());
      return socket;
    };
    const before = connect();
    await until(() => held.length === 1, 5000, 'the target given the first socket');

    const reports: LingerReport[] = [];
    const control = enableLingeringClose(target, { onReport: (report) => reports.push(report) });
    cleanups.add(control);
    const after = connect();
    await until(() => held.length === 2, 5000, 'the target given the second socket');

    for (const [socket, client] of [
      [held[0]!, before],
      [held[1]!, after],
    ] as const) {
      const ended = nextEvent(client, 'end', 5000);
      socket.end('hello');
      await ended;
      client.end();
      await nextEvent(socket, 'close', 5000);
    }
    await until(() => reports.length === 1, 5000, "the second socket's report");
    await control.drained();
    // Only the socket given after the enable lingered; the first one never took a place.
    expect(reports.map((report) => report.reason)).toEqual(['eof']);
    expect(control.stats()).toMatchObject({ peakLingering: 1, reasons: { eof: 1, overload: 0 } });
  });
});
