// sockclose audit: runs a command line with the close audit preloaded into every Node process it
// starts (NODE_OPTIONS="--require <sockclose/audit>"), so an unmodified server reports how its
// connections ended. The exit code is the command's own.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';

import { UsageError } from '../args.js';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../output.js';

/** The command could not be started (as shells say it). */
const NOT_STARTED = 127;

export const AUDIT_HELP = `Usage: sockclose audit [--file <path>] [--] <command> [args...]

Runs the command with sockclose's close audit preloaded into every Node process it starts (also
children such as npm scripts): each net, http, https and tls server is audited without changing
its code or how any connection ends. A process that had a server prints, at exit, whether its
connections ended with RST after response bytes were sent, how many the client certainly never
received (and how many more were at risk), on which requests; send it SIGUSR2 for the summary
while it runs. The same as:

  NODE_OPTIONS="--require sockclose/audit" <command>      (or node --import sockclose/audit)

Options:
  -f, --file <path>   write each process's report as JSON to <path> instead of stderr; '%p' in
                      it becomes the pid (sets SOCKCLOSE_AUDIT_FILE)
  -h, --help

Signals: SIGTERM and SIGUSR2 sent to sockclose are passed on to the command; ^C and a hangup reach
the command from the terminal, and sockclose waits for it to end. A wrapper between sockclose and
the server (npm, a shell) does not pass SIGUSR2 on: send it to the server's own pid (npm then says
it has no server; a shell dies of it).

Exit code: the command's own (128 + n if a signal n ended it); 127 if it could not be started;
2 for a bad command line.

Example:
  sockclose audit -- node server.js
  sockclose audit --file /tmp/audit-%p.json -- npm start
`;

/** Where the preload entry is, from lib/cli/commands/. */
export function preloadPath(): string {
  return path.resolve(__dirname, '..', '..', 'audit', 'preload.js');
}

/** NODE_OPTIONS with the preload added, quoted as Node parses it. */
export function withPreload(existing: string | undefined, file: string): string {
  const quoted = `"${file.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return `${existing?.trim() ? `${existing.trim()} ` : ''}--require ${quoted}`;
}

function parseAudit(args: string[]): { help: boolean; file: string | undefined; command: string[] } {
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return { help: false, file, command: args.slice(i + 1) };
    if (arg === '-h' || arg === '--help') return { help: true, file, command: [] };
    if (arg === '-f' || arg === '--file') {
      const value = args[++i];
      if (value === undefined || value === '') throw new UsageError(`${arg} needs a path`);
      // `--file -- node app.js`: the path was forgotten, not named '--'. A path that starts with
      // '-' is written attached, as the other commands take such values.
      if (value.startsWith('-')) {
        throw new UsageError(`${arg} needs a path, not '${value}'${value === '--' ? '' : ` (a path that starts with '-' is written --file=${value})`}`);
      }
      file = value;
      continue;
    }
    if (arg.startsWith('--file=')) {
      file = arg.slice('--file='.length);
      if (file === '') throw new UsageError('--file needs a path');
      continue;
    }
    if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}' (put the command after --)`);
    return { help: false, file, command: args.slice(i) };
  }
  return { help: false, file, command: [] };
}

/** Runs `sockclose audit`; resolves with the command's exit code. */
export async function audit(args: string[], io: Io): Promise<number> {
  const { help, file, command } = parseAudit(args);
  if (help) {
    io.stdout.write(AUDIT_HELP);
    return ExitCode.OK;
  }
  if (command.length === 0) throw new UsageError('no command to run (sockclose audit -- <command> [args...])');
  // `-- "$CMD"` with the variable unset: spawn() would throw, reported as an unexpected error.
  if (command[0] === '') throw new UsageError('no command to run: its name is empty (sockclose audit -- <command> [args...])');
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: withPreload(process.env.NODE_OPTIONS, preloadPath()) };
  if (file !== undefined) env.SOCKCLOSE_AUDIT_FILE = path.resolve(file);

  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
  // SIGTERM and SIGUSR2 sent to sockclose are passed on. A terminal's ^C and hangup already reach
  // the whole process group: passing them on would deliver them twice (a second ^C is "force quit"
  // to many servers), so sockclose only outlives them, to report the command's exit code.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  const outlive = () => {};
  const forwarded: NodeJS.Signals[] = ['SIGTERM', 'SIGUSR2'];
  const outlived: NodeJS.Signals[] = ['SIGINT', 'SIGHUP'];
  for (const signal of forwarded) process.on(signal, forward);
  for (const signal of outlived) process.on(signal, outlive);
  try {
    return await new Promise<number>((resolve) => {
      child.once('error', (error: NodeJS.ErrnoException) => {
        io.stderr.write(`sockclose audit: could not start '${command[0]}': ${error.code ?? error.message}\n`);
        resolve(NOT_STARTED);
      });
      child.once('exit', (code, signal) => {
        resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : ExitCode.ERROR));
      });
    });
  } finally {
    for (const signal of forwarded) process.off(signal, forward);
    for (const signal of outlived) process.off(signal, outlive);
  }
}
