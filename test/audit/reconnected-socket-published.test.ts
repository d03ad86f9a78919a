// Node lets a net.Socket connect again after its 'close' (socket.connect()): a new connection on
// the same object. A socket made elsewhere and given to an audited server each time it connects
// (`server.emit('connection', socket)`) closes twice; each close is recorded, and each must be
// published on sockclose:audit:close (the channel's "once per close" is per close, not per socket
// object). Real loopback sockets.
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent } from '../helpers/wait.js';

interface Message {
  close: { end: string };
  socket: net.Socket;
  server: net.Server;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('sockclose:audit:close and a socket connected again after its close', () => {
  it('publishes each of its closes, as the audit records each', async () => {
    // The peer: reads, and ends its side when ours ends.
    const peer = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.resume();
      socket.on('end', () => socket.end());
    });
    await listen(peer);
    cleanups.push(() => closeServer(peer));
    // The audited server, given the socket at each connection; it closes it at once.
    const target = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.destroy();
    });
    const audit = sockclose.auditCloses(target);
    cleanups.push(() => audit.stop());
    const messages: Message[] = [];
    const onClose = (message: unknown) => messages.push(message as Message);
    diagnosticsChannel.subscribe(sockclose.ChannelNames.auditClose, onClose);
    cleanups.push(() => diagnosticsChannel.unsubscribe(sockclose.ChannelNames.auditClose, onClose));

    const client = new net.Socket();
    client.on('error', () => {});
    cleanups.push(() => client.destroy());
    for (let round = 1; round <= 2; round++) {
      const closed = nextEvent(client, 'close', 10_000, 'ignore');
      client.connect(portOf(peer), '127.0.0.1', () => target.emit('connection', client));
      await closed;
      expect(audit.counts().closed).toBe(round);
      expect(messages).toHaveLength(round);
      expect(messages[round - 1]).toMatchObject({ socket: client, server: target, close: { end: 'fin' } });
    }
  });
});
