// Output under adverse conditions: a stderr whose reader went away must not cost the result or
// the exit code; a progress bar drawn on a terminal must not swallow the start of result lines;
// --control answers come in the order the commands were given.
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';

import { describe, expect, it } from 'vitest';

import { MAIN, cli, startListening, stoppedAfterEach } from './cli.js';
import { root } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';

const running = stoppedAfterEach();

const start = (args: string[]) => startListening(running, args);

/** Runs the CLI (or `script`) with stdout collected and stderr's pipe closed by this side at once. */
function runWithStderrClosed(args: string[], script = MAIN): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Nobody reads stderr any more: the child's first write to it fails with EPIPE.
  child.stderr.destroy();
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  return within(
    new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout }))),
    30_000,
    `sockclose ${args.join(' ')} to exit`,
  );
}

/** What a terminal shows of one line: '\r' returns to column 0, ESC[2K erases the line. */
function visible(line: string): string {
  let cells: string[] = [];
  let column = 0;
  for (let i = 0; i < line.length; i++) {
    if (line.startsWith('\x1b[2K', i)) {
      cells = [];
      i += 3;
    } else if (line[i] === '\r') column = 0;
    else cells[column++] = line[i]!;
  }
  return cells.map((cell) => cell ?? ' ').join('');
}

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a long-running command (serve, proxy) with --json; once it has said where it listens,
 * closes this side of its stdout pipe (nobody reads it any more), then makes one connection to
 * it, whose report line is its next write. Resolves with how it exited and its stderr.
 */
async function stdoutClosedAfterListening(args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  try {
    const lines = readline.createInterface({ input: child.stdout });
    const first = await within(
      new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('close', () => reject(new Error(`sockclose ${args.join(' ')} exited before listening: ${stderr}`)));
      }),
      10_000,
      `sockclose ${args.join(' ')} to listen`,
    );
    const { host, port } = JSON.parse(first) as { host: string; port: number };
    lines.close();
    child.stdout.destroy();
    // One connection: the client closes at once, the command writes its line for it.
    const client = net.connect({ host, port });
    client.on('error', () => {});
    client.on('connect', () => client.end());
    client.resume();
    const seen = await within(exited, 10_000, `sockclose ${args.join(' ')} to exit once its stdout was closed`);
    client.destroy();
    return { ...seen, stderr };
  } finally {
    // A failed test must not leave the command running.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('sockclose: stdout closed under it', () => {
  it.each([
    ['serve', ['serve', '--behavior', 'close', '--listen', '127.0.0.1:0']],
    ['proxy', ['proxy', '--upstream', 'UPSTREAM', '--listen', '127.0.0.1:0']],
  ])('%s: stops at its next line with exit 141 (as SIGPIPE ends a tool), not 0, and says nothing', async (_name, args) => {
    // The proxy's upstream: a server in this process that closes each connection cleanly.
    const upstream = net.createServer((socket) => socket.end()).listen(0, '127.0.0.1');
    await within(new Promise((resolve) => upstream.once('listening', resolve)), 5000, 'the upstream to listen');
    try {
      const { port } = upstream.address() as net.AddressInfo;
      const seen = await stdoutClosedAfterListening(args.map((arg) => (arg === 'UPSTREAM' ? `127.0.0.1:${port}` : arg)));
      expect(seen.signal).toBe(null);
      expect(seen.code, seen.stderr).toBe(141);
      expect(seen.stderr).toBe('');
    } finally {
      upstream.close();
    }
  });
});

describe('sockclose: stdout closed under a run that completes', () => {
  it('serve --count 1: the reader goes away on its last line, the run is complete: exit 0, not 141', async () => {
    const seen = await stdoutClosedAfterListening(['serve', '--behavior', 'close', '--listen', '127.0.0.1:0', '--count', '1']);
    expect(seen.signal).toBe(null);
    expect(seen.code, seen.stderr).toBe(0);
    expect(seen.stderr).toBe('');
  });
});

describe('sockclose: stderr closed under it', () => {
  it('probe --count --progress with nobody reading stderr: the summary on stdout and the exit code of the runs, no crash', async () => {
    const { address } = await start(['serve', '--behavior', 'reset-after-bytes', '--bytes', '100', '--await-request', '--quiet']);
    const seen = await runWithStderrClosed(['probe', address, '--send', '1', '--count', '5', '--progress', '--json']);
    expect(seen.signal).toBe(null);
    expect(seen.code, seen.stdout).toBe(3);
    expect(JSON.parse(seen.stdout)).toMatchObject({ runs: 5, outcomes: { rst: 5 } });
  });

  it('npm run demo --progress with nobody reading stderr: the report on stdout, exit 0', async () => {
    const seen = await runWithStderrClosed(['--runs', '3', '--progress'], path.join(root, 'lib', 'demo', 'main.js'));
    expect(seen.signal).toBe(null);
    expect(seen.code, seen.stdout).toBe(0);
    expect(seen.stdout).toMatch(/^lingering close\s.*FIN 3\/3/m);
  });
});

describe('sockclose proxy --control: answers in the order of the commands', () => {
  it('down, list, up, list written at once: four answers in that order, each seeing the state the one before left', async () => {
    const upstream = await start(['serve', '--behavior', 'echo', '--quiet']);
    const { proc } = await start(['proxy', '--upstream', upstream.address, '--control']);
    proc.child.stdin.write('down\nlist\nup\nlist\n');
    const answers: Array<{ event: string; ok: boolean; message: string; enabled: boolean }> = [];
    for (let i = 0; i < 4; i++) answers.push(await proc.json());
    expect(answers.map(({ message, enabled }) => [message.split(':')[0], enabled])).toEqual([
      ['down', false],
      ['no toxics', false],
      ['up', true],
      ['no toxics', true],
    ]);
  });
});

describe.skipIf(!hasScript())('sockclose serve --count on a terminal (script(1) gives it one)', () => {
  it('each connection line starts on a clean line: the progress bar is erased first, not left in front of it', async () => {
    const command = [process.execPath, MAIN, 'serve', '--behavior', 'close', '--count', '3', '--json'].map((word) => `'${word}'`).join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      const lines: string[] = [];
      const waiting: Array<(line: string) => void> = [];
      // Lines end at '\n' only (readline would also cut at the bar's '\r').
      let pending = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        const parts = (pending + chunk).split('\n');
        pending = parts.pop()!;
        for (const line of parts) {
          const next = waiting.shift();
          if (next) next(line);
          else lines.push(line);
        }
      });
      const nextLine = () => within(new Promise<string>((resolve) => (lines.length ? resolve(lines.shift()!) : waiting.push(resolve))), 10_000, 'a line on the terminal');
      const listening = JSON.parse(visible(await nextLine())) as { host: string; port: number };
      const shown: string[] = [];
      for (let i = 0; i < 3; i++) {
        const probe = cli(['probe', `${listening.host}:${listening.port}`]);
        expect((await probe.exit()).code).toBe(0);
        shown.push(visible(await nextLine()));
      }
      // Every connection line as the terminal shows it: the JSON object alone.
      for (const line of shown) expect(() => JSON.parse(line), JSON.stringify(line)).not.toThrow();
      expect(shown.map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(['connection', 'connection', 'connection']);
      expect(JSON.parse(visible(await nextLine()))).toMatchObject({ event: 'closed', reason: 'count', connections: 3 });
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      await within(new Promise((resolve) => (child.exitCode === null ? child.on('close', resolve) : resolve(null))), 10_000, 'script to exit');
    }
  });
});
