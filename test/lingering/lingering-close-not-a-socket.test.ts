// A net.Socket over a pipe that is not a socket (a FIFO: `new net.Socket({ fd })` on one, or
// process.stdin from a shell pipe) gets a Node Pipe handle, as an AF_UNIX socket does. No linger
// can watch it: lingeringClose() rejects with the getsockopt() error, as inspectSocket() throws,
// and leaves it open. It resolved instead with reason 'overload' (counted as one), the lingerer's
// ENOTSOCK in `error`, the pipe closed.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

import { describe, expect, it } from 'vitest';

import { fifoSocket } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';

const cleanups = cleanupsAfterEach();

describe('lingeringClose() of a net.Socket over a FIFO', () => {
  it('rejects with ENOTSOCK (getsockopt) and leaves the pipe open, no overload counted', async () => {
    const { socket, fd, remove } = fifoSocket();
    cleanups.add(remove);
    expect((socket as net.Socket & { _handle: { constructor: { name: string } } })._handle.constructor.name).toBe('Pipe');
    const overloadsBefore = sockclose.lingeringCloseStats().reasons.overload;

    const outcome = await within(
      sockclose.lingeringClose(socket).then(
        (report) => ({ report }),
        (error: unknown) => ({ error }),
      ),
      5000,
      'lingeringClose() to settle',
    );
    expect(outcome).toEqual({ error: expect.objectContaining({ code: 'ENOTSOCK', errno: -os.constants.errno.ENOTSOCK, syscall: 'getsockopt' }) });
    expect(socket.destroyed).toBe(false);
    expect(() => fs.fstatSync(fd)).not.toThrow();
    expect(sockclose.lingeringCloseStats().reasons.overload).toBe(overloadsBefore);
  });
});
