// `npm run demo` (node lib/demo/main.js [--runs N] [--progress | --no-progress]): the table on
// stdout; progress on stderr, drawn only on a terminal unless forced, as `sockclose demo` does;
// exit code 0 when the lingering close lost nothing, 1 when it did, 2 for a bad argument.
import { createProgress } from '../cli/progress.js';
import { formatDemo, runDemo } from './index.js';

function runsArgument(argv: readonly string[]): number | undefined {
  const index = argv.indexOf('--runs');
  return index >= 0 ? Number(argv[index + 1]) : undefined;
}

/** --progress / --no-progress: forced on or off; neither: only on a terminal. */
function progressArgument(argv: readonly string[]): boolean | undefined {
  if (argv.includes('--no-progress')) return false;
  return argv.includes('--progress') ? true : undefined;
}

async function main(): Promise<number> {
  const runs = runsArgument(process.argv);
  const progress = createProgress({ stream: process.stderr, enabled: progressArgument(process.argv), label: 'connections' });
  const update = (done: number, total: number) => progress.update(done, total);
  const options = runs === undefined ? { progress: update } : { runs, progress: update };
  let report;
  try {
    report = await runDemo(options);
  } catch (error) {
    process.stderr.write(`sockclose demo: ${(error as Error).message}\n`);
    return 2;
  } finally {
    progress.finish();
  }
  process.stdout.write(`${formatDemo(report)}\n`);
  return report.modes.find((result) => result.mode === 'lingering')!.failures === 0 ? 0 : 1;
}

void main().then((code) => {
  process.exitCode = code;
});
