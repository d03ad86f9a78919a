// The process audit's report: a few lines of text for people, or one JSON object for tools.
import type { AuditedClose, CloseAuditCounts } from './types.js';
import { count } from './summary.js';

/** What `sockclose/audit` reports (the JSON written to SOCKCLOSE_AUDIT_FILE). */
export interface ProcessAuditReport {
  /** The process id. */
  pid: number;
  /** When the report was made, in epoch milliseconds. */
  at: number;
  /** What made the report: `'SIGUSR2'`, `'exit'`, `'SIGINT'`, `'SIGTERM'`, `'SIGHUP'`, or `'call'`. */
  reason: string;
  /** Servers audited so far. */
  servers: number;
  /**
   * Connections of the audited servers still open when the report was made. Not audited: at exit
   * (or a terminating signal) the process's end closes them, which sends RST where request bytes
   * wait unread, and no look at them precedes it.
   */
  open: number;
  /**
   * Connections this thread's lingering closes (those of every copy of sockclose loaded in it)
   * still held when the report was made: handed over by Node, so not in `open`; their close was
   * audited as it began.
   * At exit or a terminating signal the process's end cuts them short, closed as their
   * `onTimeout` says (RST under the default `'reset'`), before their peers finished.
   */
  lingering: number;
  /** The one-sentence summary. */
  summary: string;
  /** The counters over every server. */
  counts: CloseAuditCounts;
  /** The latest RST closes that had sent data, oldest first. */
  recent: AuditedClose[];
}

const SHOWN = 10;

/** The report as text, for stderr. */
export function formatReport(report: ProcessAuditReport): string {
  const { counts, recent } = report;
  const lines = [`sockclose audit (pid ${report.pid}, ${report.reason}): ${report.summary}`];
  // The process runs on after these two; at exit or a terminating signal its end closes what is
  // still open or lingering, unlooked at.
  const runsOn = report.reason === 'SIGUSR2' || report.reason === 'call';
  const still = (n: number) => (runsOn ? (n === 1 ? 'is' : 'are') : n === 1 ? 'was' : 'were');
  if (report.open > 0) {
    const one = report.open === 1;
    const them = one ? 'it' : 'them';
    lines.push(
      `  ${count(report.open)} connection${one ? '' : 's'} ${still(report.open)} still open` +
        (runsOn ? '' : `: the process's end closes ${them} unaudited (with RST where request bytes wait unread); close ${them} before exiting`),
    );
  }
  if (report.lingering > 0) {
    const one = report.lingering === 1;
    lines.push(
      `  ${count(report.lingering)} lingering close${one ? '' : 's'} ${still(report.lingering)} still under way` +
        (runsOn ? '' : `: the process's end cuts ${one ? 'it' : 'them'} short (RST under onTimeout 'reset'); wait for control.drained() before exiting`),
    );
  }
  if (counts.closed > 0) {
    const { ends } = counts;
    lines.push(
      `  ${count(counts.closed)} close${counts.closed === 1 ? '' : 's'} on ${count(report.servers)} server${report.servers === 1 ? '' : 's'}: ` +
        `FIN ${count(ends.fin)}, RST ${count(ends.rst)} (input left unread ${count(counts.unreadResets)}, asked for ${count(counts.abortiveResets)}), ` +
        `already over ${count(ends.none)}, unknown ${count(ends.unknown)}; lingering close handled ${count(counts.lingered)}`,
    );
  }
  if (recent.length > 0) {
    const shown = recent.slice(-SHOWN);
    lines.push(`  latest RST closes that had sent data (${shown.length} of ${count(counts.resetsWithData)}):`);
    for (const close of shown) lines.push(`    ${describe(close)}`);
  }
  return `${lines.join('\n')}\n`;
}

function bytes(value: number | null): string {
  return value === null ? '? B' : `${count(value)} B`;
}

function describe(close: AuditedClose): string {
  const parts: string[] = [];
  if (close.remote) parts.push(close.remote);
  if (close.request) parts.push(`${close.request.method} ${close.request.path} -> ${close.request.status ?? 'no response'}`);
  parts.push(`unread ${bytes(close.unreadBytes)}`, `sent ${bytes(close.bytesWritten)}`, `unsent ${bytes(close.unsentBytes)}`, `unacked ${bytes(close.unackedBytes)}`);
  if (close.queuedBytes > 0) parts.push(`discarded ${bytes(close.queuedBytes)}`);
  return parts.join('  ');
}
