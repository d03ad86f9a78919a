// The demo's table: one line per way of closing, readable at a glance.
import type { DemoModeResult, DemoReport } from './types.js';

const number = new Intl.NumberFormat('en-US');

function bytesCell(result: DemoModeResult, responseBytes: number): string {
  if (result.completeRuns === result.runs) return `all, every run (${number.format(responseBytes)})`;
  return `all in ${result.completeRuns}/${result.runs} runs, avg ${number.format(result.meanBytes)}`;
}

function endCell(result: DemoModeResult): string {
  const parts: string[] = [];
  if (result.endedWithReset > 0) {
    const hidden = result.resetsNodeCalledClean > 0 ? ` (Node said "clean end" for ${result.resetsNodeCalledClean})` : '';
    parts.push(`RST ${result.endedWithReset}/${result.runs}${hidden}`);
  }
  if (result.endedWithFin > 0) parts.push(`FIN ${result.endedWithFin}/${result.runs}`);
  return parts.join(', ');
}

/**
 * The demo's report as a short table: per way of closing, the bytes the client received, how the
 * connection ended (as the kernel saw it, and where Node said otherwise), the TIME_WAIT sockets
 * left on the server, and a one-line verdict.
 *
 * @example
 * ```ts
 * console.log(formatDemo(await runDemo()));
 * ```
 */
export function formatDemo(report: DemoReport): string {
  const header = ['', `bytes received (of ${number.format(report.responseBytes)})`, 'connection ended with', 'TIME_WAIT left'];
  const rows = report.modes.map((result) => [
    result.label,
    bytesCell(result, report.responseBytes),
    endCell(result),
    result.timeWaitLeft === null ? 'n/a' : String(result.timeWaitLeft),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('   ')
      .trimEnd();

  const lingering = report.modes.find((result) => result.mode === 'lingering');
  const verdict = lingering
    ? lingering.failures === 0
      ? `lingering close: every response arrived whole, every connection ended with FIN (${lingering.runs}/${lingering.runs}).`
      : `lingering close: ${lingering.failures} of ${lingering.runs} runs lost data or ended with RST.`
    : '';
  return [
    `The seed 004 server sends ${number.format(report.responseBytes)} bytes and closes; each client first sent ${report.unreadBytes} bytes the server never reads.`,
    `${report.runs} connections per way of closing, on loopback (${(report.durationMs / 1000).toFixed(1)} s). How the server closes:`,
    '  plain close: write(), destroySoon() (what Node\'s http server does after `Connection: close`)',
    '  hardReset: write(), hardReset()   lingering close: the plain code, under enableLingeringClose()',
    '',
    line(header),
    ...rows.map(line),
    '',
    verdict,
    'TIME_WAIT: the side that closes first keeps one per connection for a minute; hardReset and an RST keep none.',
  ].join('\n');
}
