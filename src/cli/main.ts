#!/usr/bin/env node
// The `sockclose` command (package.json "bin"). Everything is in run.ts; this file only wires the
// process to it.
import { runCli } from './run.js';

// `sockclose probe ... | head -1`: a closed stdout is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then((code) => {
  // Let pending output flush; exit explicitly so a lingering handle cannot keep a finished run alive.
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
});
