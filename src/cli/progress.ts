// A progress indicator for long runs, on stderr so stdout stays clean for results (and --json).
// Drawn in place on a terminal; off when stderr is not one, unless forced (--progress), in which
// case it prints a plain line at every tenth of the way, readable in a log.

/** Where progress goes, and whether it is wanted. */
export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  /** true / false force it on or off; undefined: on only if `stream` is a terminal. */
  enabled: boolean | undefined;
  label: string;
}

/** A progress indicator; every method is a no-op when disabled. */
export interface Progress {
  update(done: number, total: number): void;
  /**
   * Erases the line drawn on a terminal, so that a result can be printed on a line of its own
   * (stdout and stderr are the same terminal); the next update() draws it again.
   */
  clear(): void;
  /** Clears the line (terminal) once the run is over. */
  finish(): void;
}

const WIDTH = 24;
// At most this often on a terminal: redrawing is not free and nobody reads faster.
const REDRAW_MS = 80;

/** Creates the indicator for one run. */
export function createProgress({ stream, enabled, label }: ProgressOptions): Progress {
  const tty = stream.isTTY === true;
  if (!(enabled ?? tty)) return { update() {}, clear() {}, finish() {} };
  let lastDraw = 0;
  let lastTenth = -1;
  let drawn = false;
  return {
    update(done, total) {
      if (tty) {
        const now = Date.now();
        if (done < total && now - lastDraw < REDRAW_MS) return;
        lastDraw = now;
        const filled = total > 0 ? Math.round((done / total) * WIDTH) : 0;
        stream.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${done}/${total}`);
        drawn = true;
      } else {
        const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
        if (tenth === lastTenth) return;
        lastTenth = tenth;
        stream.write(`${label}: ${done}/${total}\n`);
      }
    },
    clear() {
      if (!(tty && drawn)) return;
      stream.write('\r\x1b[2K');
      drawn = false;
      // Redrawn at the next update, however soon: a cleared bar is no bar.
      lastDraw = 0;
    },
    finish() {
      if (tty && drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
