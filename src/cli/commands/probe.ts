// sockclose probe: how does this server end a connection? Once, or N times with a summary.
import { MAX_MS } from '../../harness/options.js';
import { probe as probeOnce, type ProbeOptions, type ProbeOutcome, type ProbeResult } from '../../harness/probe.js';
import { choiceFlag, integerFlag, parse, UsageError } from '../args.js';
import { addressFlag, COMMON_FLAGS, progressFlag } from '../common.js';
import { ExitCode } from '../exit-codes.js';
import { describeProbe, probeJson } from '../format.js';
import { PROBE_HELP } from '../help.js';
import { bytes, Output, type Io } from '../output.js';
import { createProgress } from '../progress.js';

const OUTCOMES: readonly ProbeOutcome[] = ['fin', 'rst', 'fin-rst', 'timeout', 'connect-error'];

/** Runs `sockclose probe`; resolves with the exit code. */
export async function probe(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...COMMON_FLAGS,
      send: { type: 'string', short: 's' },
      'send-text': { type: 'string' },
      shutdown: { type: 'boolean' },
      timeout: { type: 'string' },
      count: { type: 'string', short: 'n' },
      expect: { type: 'string' },
    },
    true,
  );
  if (values.help) {
    io.stdout.write(PROBE_HELP);
    return ExitCode.OK;
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'which server? Give host:port, like 127.0.0.1:8125' : `one host:port only (got ${positionals.join(' ')})`);
  }
  const target = addressFlag(positionals[0], 'target', false, 'the server to probe');
  if (values.send !== undefined && values['send-text'] !== undefined) throw new UsageError('--send and --send-text contradict each other');
  const options: ProbeOptions = { shutdown: values.shutdown === true, timeoutMs: integerFlag(values.timeout, 'timeout', 1, MAX_MS, 10_000) };
  const send = values['send-text'] ?? integerFlag(values.send, 'send', 0, 2 ** 30);
  if (send !== undefined) options.send = send as string | number;
  const count = integerFlag(values.count, 'count', 1, 1_000_000, 1);
  const expected = choiceFlag(values.expect, 'expect', OUTCOMES);
  const out = new Output(io, values.json === true);
  const progressChoice = progressFlag(values);
  const progress = createProgress({ stream: io.stderr, enabled: count > 1 ? progressChoice : false, label: 'probes' });

  // ^C ends the run at once: the probe in flight is abandoned (its socket goes with the process,
  // which main.ts exits), not waited for up to --timeout.
  let interrupted = false;
  let onSigint: () => void = () => {};
  const interruption = new Promise<null>((resolve) => {
    onSigint = () => {
      interrupted = true;
      resolve(null);
    };
    process.once('SIGINT', onSigint);
  });
  const results: ProbeResult[] = [];
  try {
    for (let run = 0; run < count && !interrupted; run++) {
      const result = await Promise.race([probeOnce(target.host, target.port, options), interruption]);
      if (result === null) break;
      results.push(result);
      progress.update(results.length, count);
    }
  } finally {
    process.off('SIGINT', onSigint);
    progress.finish();
  }

  // --count N summarises whatever N: a script running `--count "$N" --json` reads one shape.
  if (values.count === undefined && results.length === 1) {
    const [result] = results as [ProbeResult];
    out.result(probeJson(result), () => describeProbe(result));
  } else {
    const summary = summarise(results, count);
    out.result(summary, () => describeSummary(summary));
  }
  if (interrupted) return ExitCode.INTERRUPTED;
  if (expected !== undefined) return results.every((result) => result.outcome === expected) ? ExitCode.OK : ExitCode.UNEXPECTED;
  return worst(results.map((result) => result.outcome));
}

/** The exit code of the worst outcome: could not connect, then reset, then timeout. */
function worst(outcomes: ProbeOutcome[]): number {
  if (outcomes.includes('connect-error')) return ExitCode.NETWORK;
  if (outcomes.includes('rst') || outcomes.includes('fin-rst')) return ExitCode.RESET;
  if (outcomes.includes('timeout')) return ExitCode.TIMEOUT;
  return ExitCode.OK;
}

interface Summary {
  runs: number;
  requested: number;
  outcomes: Record<ProbeOutcome, number>;
  /** Resets that Node reported as a clean 'end' (the kernel knew better). */
  hiddenResets: number;
  received: { min: number; median: number; max: number };
  results: Array<Record<string, unknown>>;
}

function summarise(results: ProbeResult[], requested: number): Summary {
  const outcomes = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0])) as Record<ProbeOutcome, number>;
  for (const result of results) outcomes[result.outcome] += 1;
  const received = results.map((result) => result.received).sort((a, b) => a - b);
  return {
    runs: results.length,
    requested,
    outcomes,
    hiddenResets: results.filter((result) => result.observation.hiddenReset).length,
    received: {
      min: received[0] ?? 0,
      median: received[Math.floor(received.length / 2)] ?? 0,
      max: received[received.length - 1] ?? 0,
    },
    results: results.map(probeJson),
  };
}

function describeSummary(summary: Summary): string {
  const counts = Object.entries(summary.outcomes)
    .filter(([, n]) => n > 0)
    .map(([outcome, n]) => `${outcome} ${n}`)
    .join(', ');
  const head = `${summary.runs} of ${summary.requested} probes: ${counts || 'none'}`;
  // No statistics over no run (interrupted before the first ended).
  if (summary.runs === 0) return head;
  return [
    head,
    `  received: min ${bytes(summary.received.min)}, median ${bytes(summary.received.median)}, max ${bytes(summary.received.max)}`,
    `  resets Node reported as a clean end: ${summary.hiddenResets}`,
  ].join('\n');
}
