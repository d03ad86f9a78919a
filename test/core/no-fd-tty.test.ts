// A TTY (process.stdout or process.stdin on a terminal: a tty.WriteStream / tty.ReadStream, a
// net.Socket over a Node TTY handle) is no socket. Every function refuses it with
// ERR_SOCKCLOSE_NO_FD, whose message guessed "its transport is a TTY handle, not a socket (TLS
// over a JavaScript stream?)": now it says the target is a TTY. TLS over a JavaScript stream is
// still named as such (test/core/errors.test.ts).
import { describe, expect, it } from 'vitest';

import { runOnPty } from '../helpers/pty.js';

const FUNCTIONS = ['socketFd', 'setLinger', 'getLinger', 'hardReset', 'peekSocketError', 'takeSocketError', 'inspectSocket', 'closeWouldReset', 'lingeringClose'];

describe('a TTY target (process.stdout, process.stdin on a pty)', () => {
  it('ERR_SOCKCLOSE_NO_FD from every function, saying it is a TTY, with no guess about TLS', async () => {
    const run = await runOnPty('tty-targets.cjs');
    expect(run.code, run.output).toBe(0);
    const result = run.result as Record<string, Record<string, unknown>>;
    expect(result).toMatchObject({ isTTY: { stdout: true, stdin: true }, handle: 'TTY', native: true });
    for (const stream of ['stdout', 'stdin']) {
      for (const name of FUNCTIONS) {
        expect(result[stream]![name], `${stream} ${name}`).toEqual({
          class: 'Error',
          code: 'ERR_SOCKCLOSE_NO_FD',
          message: `${name}(): the target is a TTY (a terminal: a tty.ReadStream or tty.WriteStream, as process.stdout is on one), not a socket: it has no socket descriptor`,
        });
      }
    }
  });
});
