// A socket whose handle went to another process (child.send(message, socket) without keepOpen):
// Node leaves the parent's socket undestroyed, with no handle, the connection alive in the child.
// Every function says there is no descriptor, and why in words that fit this case too.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, tempDir } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, within } from '../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// The child keeps the socket it receives and says so; it exits when the parent disconnects.
const CHILD = `
process.on('message', (message, socket) => {
  socket.on('error', () => {});
  process.send('kept');
});
process.on('disconnect', () => process.exit(0));
`;

describe('a socket whose handle was sent to another process', () => {
  it('throws ERR_SOCKCLOSE_NO_FD saying the handle may have gone to another process', async () => {
    const dir = tempDir('sockclose-sent-away-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const script = path.join(dir, 'child.cjs');
    fs.writeFileSync(script, CHILD);
    const worker = fork(script, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    cleanups.push(() => {
      if (worker.connected) worker.disconnect();
    });

    const server = net.createServer();
    await listen(server);
    cleanups.push(() => closeServer(server));
    const accepted = nextEvent<[net.Socket]>(server, 'connection');
    const client = net.connect(portOf(server), '127.0.0.1');
    client.on('error', () => {});
    cleanups.push(() => client.destroy());
    const [socket] = await accepted;

    const kept = within(new Promise((resolve) => worker.once('message', resolve)), 10_000, "the child's answer");
    worker.send('socket', socket);
    expect(await kept).toBe('kept');

    expect(socket.destroyed).toBe(false);
    for (const call of [() => sockclose.socketFd(socket), () => sockclose.getLinger(socket), () => sockclose.inspectSocket(socket)]) {
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NO_FD', message: expect.stringMatching(/its handle was sent to another process/) }));
    }
    expect(() => sockclose.hardReset(socket)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NO_FD', message: expect.stringMatching(/sent to another process/) }));
    await expect(sockclose.shutdownWrite(socket)).rejects.toMatchObject({ code: 'ERR_SOCKCLOSE_NO_FD', message: expect.stringMatching(/sent to another process/) });
  });
});
