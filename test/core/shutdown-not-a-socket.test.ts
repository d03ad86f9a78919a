// shutdownWrite() of a net.Socket over something that is no socket. Node's end() calls shutdown(),
// which fails with ENOTSOCK there, and Node takes that for success: the promise resolved although
// nothing was half-closed (a FIFO opened read-write stayed open, its reader saw no EOF; a TTY was
// just ended). It rejects now, before anything changes: ENOTSOCK (getsockopt) for a pipe, as
// inspectSocket() says; ERR_SOCKCLOSE_NO_FD for a TTY, as every other function says. The write end
// of a pipe that reads nothing (readable: false) still works: Node closes it at 'finish', and the
// reader sees EOF.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

import { afterEach, describe, expect, it } from 'vitest';

import { fifoSocket } from '../helpers/net.js';
import { runOnPty } from '../helpers/pty.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, within } from '../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const settled = (promise: Promise<void>) =>
  within(
    promise.then(
      () => ({ resolved: true }) as const,
      (error: unknown) => ({ error }),
    ),
    5000,
    'shutdownWrite() to settle',
  );

/**
 * Both ends of a pipe(2) (not a FIFO: python3 makes it with os.pipe(), this process opens its
 * ends through /proc, then python exits), non-blocking, as Node wants them.
 */
async function pipe2(): Promise<{ readFd: number; writeFd: number }> {
  const script = 'import os, sys; r, w = os.pipe(); print(r, w, flush=True); sys.stdin.read()';
  let ends: { readFd: number; writeFd: number } | undefined;
  let line = '';
  const exited = new Promise<void>((resolve) => {
    const child = execFile('python3', ['-c', script], { timeout: 10_000, killSignal: 'SIGKILL' }, () => resolve());
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      line += chunk;
      if (ends || !line.includes('\n')) return;
      const [r, w] = line.trim().split(/\s+/).map(Number);
      const readFd = fs.openSync(`/proc/${child.pid}/fd/${r}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const writeFd = fs.openSync(`/proc/${child.pid}/fd/${w}`, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      ends = { readFd, writeFd };
      child.stdin!.end();
    });
  });
  await within(exited, 10_000, 'python3 to hand over its pipe and exit');
  if (!ends) throw new Error(`python3 printed no pipe: ${JSON.stringify(line)}`);
  return ends;
}

describe('shutdownWrite() of a net.Socket that is no socket', () => {
  it('over a FIFO opened read-write: ENOTSOCK (getsockopt), and the socket is left as it was', async () => {
    const { socket, remove } = fifoSocket();
    cleanups.push(remove);
    expect((socket as net.Socket & { _handle: { constructor: { name: string } } })._handle.constructor.name).toBe('Pipe');

    const outcome = await settled(sockclose.shutdownWrite(socket));
    expect(outcome).toEqual({ error: expect.objectContaining({ code: 'ENOTSOCK', errno: -os.constants.errno.ENOTSOCK, syscall: 'getsockopt' }) });
    // Not ended: it still writes, and reads back what it wrote.
    expect({ writableEnded: socket.writableEnded, destroyed: socket.destroyed }).toEqual({ writableEnded: false, destroyed: false });
    const echoed = nextEvent<[Buffer]>(socket, 'data');
    socket.write('still open');
    expect(String((await echoed)[0])).toBe('still open');
  });

  it('a TTY (process.stdout on a pty): ERR_SOCKCLOSE_NO_FD naming it, and stdout is not ended', async () => {
    const run = await runOnPty('shutdown-tty.cjs');
    expect(run.code, run.output).toBe(0);
    expect(run.result).toEqual({
      isTTY: true,
      outcome: {
        class: 'Error',
        code: 'ERR_SOCKCLOSE_NO_FD',
        message: 'shutdownWrite(): the target is a TTY (a terminal: a tty.ReadStream or tty.WriteStream, as process.stdout is on one), not a socket: it has no socket descriptor',
      },
      writableEnded: false,
    });
  });

  it("the write end of a pipe(2) (readable: false) still resolves, and the reader reads everything, then EOF", async () => {
    const { readFd, writeFd } = await pipe2();
    const reader = new net.Socket({ fd: readFd, readable: true, writable: false });
    cleanups.push(() => void reader.destroy());
    const writer = new net.Socket({ fd: writeFd, readable: false, writable: true });
    cleanups.push(() => void writer.destroy());
    let received = '';
    reader.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    const eof = nextEvent(reader, 'end');
    writer.write('every byte, then EOF');

    expect(await settled(sockclose.shutdownWrite(writer))).toEqual({ resolved: true });
    await eof;
    expect(received).toBe('every byte, then EOF');
    // Node closed the write end at 'finish': that close is the EOF.
    expect(writer.destroyed).toBe(true);
  });
});
