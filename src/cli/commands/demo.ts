// sockclose demo: the seed 004 scenario closed three ways, side by side (src/demo).
import { capabilities } from '../../capabilities.js';
import { formatDemo, runDemo, type DemoReport } from '../../demo/index.js';
import { integerFlag, parse } from '../args.js';
import { COMMON_FLAGS, progressFlag } from '../common.js';
import { ExitCode } from '../exit-codes.js';
import { DEMO_HELP } from '../help.js';
import { Output, type Io } from '../output.js';
import { createProgress } from '../progress.js';

/** How `npm run demo` (src/demo/main.ts) differs from `sockclose demo`. */
export interface DemoCommandOptions {
  /** The progress line's label (default 'demo'). */
  progressLabel?: string;
  /** Exit 1 when the lingering close lost data or ended with RST (default: 0 once the demo ran). */
  failOnLoss?: boolean;
}

/** Runs `sockclose demo`; resolves with the exit code (0 once the demo has run). */
export async function demo(args: string[], io: Io, options: DemoCommandOptions = {}): Promise<number> {
  const { values } = parse(args, { ...COMMON_FLAGS, runs: { type: 'string', short: 'r' } }, false);
  if (values.help) {
    io.stdout.write(DEMO_HELP);
    return ExitCode.OK;
  }
  const runs = integerFlag(values.runs, 'runs', 1, 10_000);
  // Two of the demo's three closes (hardReset, lingering close) need the native binary. Without it
  // the demo cannot run at all: one line saying why, not a stack trace from the first close.
  const { native, reason } = capabilities();
  if (!native) {
    const why = (reason ?? 'the native binary is not loaded').replace(/\s+/g, ' ').trim();
    io.stderr.write(`sockclose demo: cannot run here: the demo needs sockclose's native binary (for hardReset and lingering close), which is not loaded: ${why}\n`);
    return ExitCode.ERROR;
  }
  const out = new Output(io, values.json === true);
  const progress = createProgress({ stream: io.stderr, enabled: progressFlag(values), label: options.progressLabel ?? 'demo' });

  // The demo cannot be cut short cleanly; on SIGINT the CLI exits at once (its sockets go with it).
  let onSigint: () => void = () => {};
  const interrupted = new Promise<'interrupted'>((resolve) => {
    onSigint = () => resolve('interrupted');
    process.once('SIGINT', onSigint);
  });
  try {
    const report = await Promise.race([
      runDemo({ ...(runs === undefined ? {} : { runs }), progress: (done, total) => progress.update(done, total) }),
      interrupted,
    ]);
    progress.finish();
    if (report === 'interrupted') {
      io.stderr.write('sockclose demo: interrupted\n');
      return ExitCode.INTERRUPTED;
    }
    out.result(report satisfies DemoReport, () => formatDemo(report));
    const lingering = report.modes.find((result) => result.mode === 'lingering');
    return options.failOnLoss === true && lingering !== undefined && lingering.failures > 0 ? ExitCode.ERROR : ExitCode.OK;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
