// The CLI's dispatcher: picks the command, and turns every failure into a message and an exit code
// (2 for a bad command line, 1 for anything unexpected). Never throws.
import fs from 'node:fs';
import path from 'node:path';

import { UsageError } from './args.js';
import { audit } from './commands/audit.js';
import { demo } from './commands/demo.js';
import { probe } from './commands/probe.js';
import { proxy } from './commands/proxy.js';
import { serve } from './commands/serve.js';
import { ExitCode } from './exit-codes.js';
import { MAIN_HELP } from './help.js';
import type { Io } from './output.js';

type Command = (args: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, Command> = { demo, serve, proxy, probe, audit };

/** Runs the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    // No command at all is a usage error: the help goes where errors go.
    io.stderr.write(MAIN_HELP);
    return ExitCode.USAGE;
  }
  if (first === '-h' || first === '--help') {
    io.stdout.write(MAIN_HELP);
    return ExitCode.OK;
  }
  if (first === '-v' || first === '--version') {
    io.stdout.write(`${version()}\n`);
    return ExitCode.OK;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      io.stdout.write(MAIN_HELP);
      return ExitCode.OK;
    }
    return run(topic, ['--help'], io);
  }
  return run(first, rest, io);
}

async function run(name: string, args: string[], io: Io): Promise<number> {
  const command = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.stderr.write(`sockclose: unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})\nTry 'sockclose --help'.\n`);
    return ExitCode.USAGE;
  }
  return runCommand(name, command, args, io);
}

/**
 * Runs one command as `sockclose <name>` would: a usage error is its message and exit code 2, an
 * unexpected failure exit code 1. Never throws. (`npm run demo` runs the demo command through it.)
 */
export async function runCommand(name: string, command: Command, args: string[], io: Io): Promise<number> {
  try {
    return await command(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`sockclose ${name}: ${error.message}\nTry 'sockclose ${name} --help'.\n`);
      return ExitCode.USAGE;
    }
    io.stderr.write(`sockclose ${name}: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return ExitCode.ERROR;
  }
}

/** The package's version, from the package.json two levels above lib/cli/. */
function version(): string {
  try {
    const file = path.join(__dirname, '..', '..', 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
