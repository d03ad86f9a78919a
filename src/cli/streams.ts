// What the entry points (lib/cli/main.js, lib/demo/main.js) do when a reader goes away.

import { ExitCode } from './exit-codes.js';

/**
 * A closed stdout (`sockclose serve ... | head -1`) stops the command within the turn, as SIGPIPE
 * stops other Unix tools, without a message: with the exit code already decided if the command had
 * finished (only output was left), else ExitCode.OUTPUT_CLOSED (141, what a shell shows for a tool
 * SIGPIPE ended). Not 0: for serve and proxy that says "stopped by a signal or --count", for probe
 * "the peer closed cleanly", and a script under `set -o pipefail` would take a cut-short run for a
 * completed one. A server notices at its next write (a connection's line): a pipe's reader going
 * away wakes no one. Notes and progress go to stderr: a reader of it that went away
 * (`2>&1 >/dev/null | head -1`, a log pipe that closed) must not cost the result on stdout or the
 * exit code; later writes to the broken stream are dropped too.
 */
export function handleClosedPipes(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    // Decided at the end of this turn, not in it: output written as the process starts (--help,
    // --version) fails before main.ts has the command's code, and that command had finished.
    setImmediate(() => process.exit(process.exitCode ?? ExitCode.OUTPUT_CLOSED));
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}
