#!/usr/bin/env node
// The `sockclose` command (package.json "bin"). Everything is in run.ts; this file only wires the
// process to it.
import { runCli } from './run.js';
import { handleClosedPipes } from './streams.js';

handleClosedPipes();

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then((code) => {
  // Let pending output flush; exit explicitly so a lingering handle cannot keep a finished run alive.
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
});
