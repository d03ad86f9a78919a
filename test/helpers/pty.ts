// A Node script run under a pseudo-terminal (python3's pty module), so that its process.stdin,
// process.stdout and process.stderr are TTYs (tty.ReadStream / tty.WriteStream, Node TTY handles).
// The script writes its result to the file named by SOCKCLOSE_RESULT: the terminal's own output
// (CRLF, echo) is no channel for JSON.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { tempDir } from './net.js';
import { root } from './sockclose.js';

// Starts the command on a new pty (pty.spawn), copying its output to ours; exits with its status.
const SPAWN_ON_PTY = 'import os, pty, sys; status = pty.spawn(sys.argv[1:]); sys.exit(os.waitstatus_to_exitcode(status))';

/** What a script run on a pty wrote to its result file (parsed), with its exit code and output. */
export interface PtyRun {
  code: number | null;
  result: unknown;
  output: string;
}

/** Runs test/fixtures/`fixture` under a pty with lib/ to test, killed (SIGKILL) after `timeoutMs`. */
export async function runOnPty(fixture: string, timeoutMs = 20_000): Promise<PtyRun> {
  const dir = tempDir('sockclose-pty-');
  const resultFile = path.join(dir, 'result.json');
  const env = { ...process.env, SOCKCLOSE_LIB: path.join(root, 'lib', 'index.js'), SOCKCLOSE_RESULT: resultFile };
  try {
    const run = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile(
        'python3',
        ['-c', SPAWN_ON_PTY, process.execPath, path.join(root, 'test', 'fixtures', fixture)],
        { env, timeout: timeoutMs, killSignal: 'SIGKILL' },
        (error, stdout, stderr) => {
          const code = error ? (error as { code?: unknown }).code : 0;
          resolve({ code: typeof code === 'number' ? code : null, output: `${stdout}${stderr}${error?.killed ? ' (killed: timeout)' : ''}` });
        },
      );
      // pty.spawn copies our stdin to the terminal: EOF at once, nothing typed.
      child.stdin?.end();
    });
    const result = fs.existsSync(resultFile) ? (JSON.parse(fs.readFileSync(resultFile, 'utf8')) as unknown) : null;
    return { ...run, result };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
