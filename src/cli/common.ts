// Pieces every CLI command shares: flags common to all, addresses, listen failures, and running
// a server until a signal or a connection count stops it.
import type { ParseArgsConfig } from 'node:util';

import { parseAddress, type Endpoint } from '../harness/options.js';
import { UsageError } from './args.js';
import { ExitCode } from './exit-codes.js';
import type { Io, Output } from './output.js';
import { createProgress } from './progress.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes. */
export const COMMON_FLAGS: Options = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
};

/** --progress / --no-progress as a tri-state: forced on, forced off, or "if a terminal". */
export function progressFlag(values: Record<string, unknown>): boolean | undefined {
  if (values.progress === true && values['no-progress'] === true) throw new UsageError('--progress and --no-progress contradict each other');
  if (values.progress === true) return true;
  if (values['no-progress'] === true) return false;
  return undefined;
}

/**
 * An address flag; the harness's own parser, its errors as usage errors. `what` names it in
 * messages: `--flag` by default, something else for a positional argument.
 */
export function addressFlag(value: unknown, flag: string, allowZero: boolean, what = `--${flag}`): Endpoint {
  if (typeof value !== 'string') throw new UsageError(`${what} needs an address like 127.0.0.1:8080`);
  try {
    return parseAddress(value, flag, '127.0.0.1', allowZero, addressFlag);
  } catch {
    throw new UsageError(`${what} must look like host:port, [::1]:port or a port${allowZero ? ' (0: any free port)' : ''}, not '${value}'`);
  }
}

// Codes with which listen() fails because of the address, not because of sockclose.
const LISTEN_FAILURES = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EAFNOSUPPORT', 'EINVAL']);

/** Starts a listener; a failure to listen becomes exit code 5 with a clear message. */
export async function listenOrExit<T>(start: () => Promise<T>, what: string, io: Io): Promise<T | number> {
  try {
    return await start();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && LISTEN_FAILURES.has(code)) {
      io.stderr.write(`sockclose: cannot listen on ${what}: ${code}\n`);
      return ExitCode.NETWORK;
    }
    throw error;
  }
}

/**
 * Runs until SIGINT/SIGTERM, or until `count` reports; prints each report; then closes. Exit
 * code 0 either way: that is how these commands are meant to stop (a stdout whose reader left
 * before that ends the process with 141 at the next line: streams.ts). `announce` prints the address:
 * it is called once the signal handlers are in place, so a script that signals as soon as it has
 * read the address never kills the process half-way.
 */
export async function runUntilStopped<R>(
  server: { on(event: 'report', listener: (report: R) => void): unknown; close(): Promise<void> },
  count: number | undefined,
  out: Output,
  progressEnabled: boolean | undefined,
  print: (report: R) => void,
  announce: () => void,
): Promise<number> {
  const progress = count === undefined ? null : createProgress({ stream: out.io.stderr, enabled: progressEnabled, label: 'connections' });
  // Every line on stdout (a connection, a --control answer) first clears the bar from the terminal.
  if (progress) out.beforeResult = () => progress.clear();
  let seen = 0;
  let stopping = false;
  let onSignal: (signal: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => {
    onSignal = resolve;
    // on(), not once(): a second signal during the (bounded) shutdown must not kill the process
    // with 128+n; `timeout` signals the command, then its whole process group.
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    server.on('report', (report: R) => {
      // Connections cut by the shutdown itself are not the run's: do not count or print them.
      if (stopping) return;
      seen += 1;
      const complete = count !== undefined && seen >= count;
      // The run is complete with this line: a reader that goes away on it (`| head -1`) cuts
      // nothing short, and the closed stdout must not turn 0 into 141 (streams.ts).
      if (complete) process.exitCode = ExitCode.OK;
      print(report);
      progress?.update(seen, count!);
      if (complete) resolve('count');
    });
    announce();
  });
  // Held until stopped: a proxy taken down (--control's `down`) with stdin at its end holds no
  // handle, and Node would end the run by itself (exit 0, no last line) instead of waiting.
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  const why = await stopped.finally(() => clearInterval(keepAlive));
  stopping = true;
  progress?.finish();
  await server.close();
  out.result({ event: 'closed', reason: why, connections: seen }, () => `stopped (${why === 'count' ? `${seen} connection${seen === 1 ? '' : 's'}` : why}).`);
  // The handlers stay (a later signal resolves a settled promise: nothing): the command exits next
  // (main.ts, once stdout has flushed), and a signal arriving before that with no handler left
  // would still end it with 128+n.
  return ExitCode.OK;
}
