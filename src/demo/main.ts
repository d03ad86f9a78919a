// `npm run demo` (node lib/demo/main.js [--runs N] [--json] [--progress | --no-progress]): the
// demo as `sockclose demo` runs it, with the same options, messages and help (--help): the table
// on stdout, progress on stderr (drawn only on a terminal unless forced). Exit code 0 when the
// lingering close lost nothing, 1 when it did or when the demo cannot run here (no native binary:
// one line says why), 2 for a bad argument, 130 when interrupted (^C).
import { demo } from '../cli/commands/demo.js';
import { runCommand } from '../cli/run.js';
import { handleClosedPipes } from '../cli/streams.js';

// `npm run demo | head -3`, or a closed stderr under the progress: as the sockclose command.
handleClosedPipes();

const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
void runCommand('demo', (args, streams) => demo(args, streams, { progressLabel: 'connections', failOnLoss: true }), process.argv.slice(2), io).then((code) => {
  process.exitCode = code;
  // Exit once the output is out: an interrupted demo leaves its servers behind.
  process.stdout.write('', () => process.exit(code));
});
