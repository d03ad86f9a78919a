// serve and proxy stop on SIGINT/SIGTERM with exit 0. A second signal while the first one's
// shutdown runs must not kill the process with 128+n: `timeout` signals the command, then its whole
// process group, and a quick double Ctrl-C does the same.
import { execFile } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

/**
 * In a process of its own, runUntilStopped() over a server whose close() waits until told: the
 * second SIGTERM is sent once the shutdown is under way (close() called), then close() finishes.
 */
const SCRIPT = `
const { EventEmitter } = require('node:events');
const { runUntilStopped } = require(${JSON.stringify(path.join(root, 'lib', 'cli', 'common.js'))});
const { Output } = require(${JSON.stringify(path.join(root, 'lib', 'cli', 'output.js'))});
const server = new EventEmitter();
server.close = () => new Promise((resolve) => {
  // A second signal, during the shutdown: with no handler left it would end the process at once.
  process.kill(process.pid, 'SIGTERM');
  setImmediate(resolve);
});
const out = new Output({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }, true);
// The real server's listening socket keeps the process alive; here an interval does.
const alive = setInterval(() => {}, 60_000);
runUntilStopped(server, undefined, out, false, () => {}, () => process.kill(process.pid, 'SIGTERM')).then((code) => {
  clearInterval(alive);
  process.exitCode = code;
});
`;

describe('serve / proxy: signals', () => {
  it('a second SIGTERM during the shutdown the first began: still exit 0, with the last "closed" line', async () => {
    const { code, signal, stdout } = await new Promise<{ code: number | null; signal: string | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ['-e', SCRIPT], { timeout: 20_000, killSignal: 'SIGKILL' }, (_error, out) =>
        resolve({ code: child.exitCode, signal: child.signalCode, stdout: out }),
      );
    });
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(stdout.trim())).toMatchObject({ event: 'closed', reason: 'SIGTERM', connections: 0 });
  });

  it('a signal after the "closed" line, before the process exits: still exit 0', async () => {
    // The command's own exit waits for stdout to flush; the handlers used to be gone by then.
    const late = SCRIPT.replace(
      'clearInterval(alive);',
      "process.kill(process.pid, 'SIGTERM'); setImmediate(() => clearInterval(alive));",
    );
    expect(late).toContain("setImmediate(() => clearInterval(alive))");
    const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      const child = execFile(process.execPath, ['-e', late], { timeout: 20_000, killSignal: 'SIGKILL' }, () =>
        resolve({ code: child.exitCode, signal: child.signalCode }),
      );
    });
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
