// A net.Server under enableLingeringClose() that collects every linger's report: the shape the
// bounds tests share. New connections are paused: Node reads nothing the test did not ask for.
import net from 'node:net';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import type { Cleanup } from './lifecycle.js';

const { enableLingeringClose } = sockclose;
export type EnableOptions = NonNullable<Parameters<typeof enableLingeringClose>[1]>;
export type Report = Parameters<NonNullable<EnableOptions['onReport']>>[0];

/** Listens on loopback; `onConnection` decides how each connection closes. */
export async function reportingServer(
  cleanups: { add(...cleanups: Cleanup[]): void },
  onConnection: (socket: net.Socket) => void,
  options: EnableOptions,
) {
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    onConnection(socket);
  });
  const reports: Report[] = [];
  const control = enableLingeringClose(server, { ...options, onReport: (report) => reports.push(report) });
  await listen(server);
  cleanups.add(() => closeServer(server), control);
  return { server, port: portOf(server), control, reports };
}
