// Where the CLI writes: results on stdout (one JSON object per line with --json, so a script can
// read them as they come), notes and progress on stderr.

/** The streams a command uses. */
export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
}

/** Writes results in the chosen mode. */
export class Output {
  constructor(
    readonly io: Io,
    readonly json: boolean,
  ) {}

  /**
   * Called before each result is written: a progress bar drawn in place on the terminal clears
   * itself there, or the result would be printed on the end of the bar's line.
   */
  beforeResult: (() => void) | null = null;

  /**
   * A result: `value` as one JSON line with --json, else `human()`'s text. Always written:
   * --quiet is the commands' business (it drops per-connection lines only, in both modes).
   */
  result(value: unknown, human: () => string): void {
    this.beforeResult?.();
    if (this.json) this.io.stdout.write(`${JSON.stringify(value)}\n`);
    else this.io.stdout.write(`${human()}\n`);
  }
}

/** Bytes for people: 600000 → '600,000 B'. */
export function bytes(count: number | null): string {
  return count === null ? '? B' : `${count.toLocaleString('en-US')} B`;
}

/** Milliseconds for people. */
export function ms(value: number | null): string {
  if (value === null) return '-';
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}
