// `npm run demo` (node lib/demo/main.js [--runs N]): progress on stderr, the table on stdout; exit
// code 0 when the lingering close lost nothing, 1 when it did, 2 for a bad argument.
import { formatDemo, runDemo } from './index.js';

function runsArgument(argv: readonly string[]): number | undefined {
  const index = argv.indexOf('--runs');
  return index >= 0 ? Number(argv[index + 1]) : undefined;
}

function progressLine(done: number, total: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} connections`;
  if (process.stderr.isTTY) process.stderr.write(`\r${bar}${done === total ? '\n' : ''}`);
  else if (done === total || done % Math.max(1, Math.floor(total / 10)) === 0) process.stderr.write(`${bar}\n`);
}

async function main(): Promise<number> {
  const runs = runsArgument(process.argv);
  const options = runs === undefined ? { progress: progressLine } : { runs, progress: progressLine };
  let report;
  try {
    report = await runDemo(options);
  } catch (error) {
    process.stderr.write(`sockclose demo: ${(error as Error).message}\n`);
    return 2;
  }
  process.stdout.write(`${formatDemo(report)}\n`);
  return report.modes.find((result) => result.mode === 'lingering')!.failures === 0 ? 0 : 1;
}

void main().then((code) => {
  process.exitCode = code;
});
