// What the entry points (lib/cli/main.js, lib/demo/main.js) do when a reader goes away.

/**
 * A closed stdout (`sockclose probe ... | head -1`) is the reader's choice, not an error: exit at
 * once with the exit code already decided (0 if none yet). Notes and progress go to stderr: a
 * reader of it that went away (`2>&1 >/dev/null | head -1`, a log pipe that closed) must not cost
 * the result on stdout or the exit code; later writes to the broken stream are dropped too.
 */
export function handleClosedPipes(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}
