// Human-readable lines for the harness's results, and the compact JSON shapes the CLI prints.
import type { FaultConnectionReport } from '../harness/fault-server.js';
import type { CloseObservation, EndKind } from '../harness/observe-close.js';
import { formatAddress } from '../harness/options.js';
import type { ProbeOutcome, ProbeResult } from '../harness/probe.js';
import type { ProxyLinkReport } from '../harness/proxy-link.js';
import { bytes, ms } from './output.js';

const END_WORDS: Record<Exclude<EndKind, 'none'>, string> = {
  fin: 'FIN (clean close)',
  rst: 'RST (reset)',
  'fin-rst': 'FIN, then RST',
};

/**
 * How one side ended, in words. 'none' differs by side: the peer had sent no FIN or RST when the
 * connection closed (it had not closed); this side had nothing left to end.
 */
function endWords(kind: EndKind, side: 'peer' | 'local'): string {
  if (kind !== 'none') return END_WORDS[kind];
  return side === 'peer' ? 'no FIN or RST (had not closed)' : 'no FIN or RST (nothing left to end)';
}

const OUTCOME_WORDS: Record<ProbeOutcome, string> = {
  fin: 'closed cleanly (FIN)',
  rst: 'reset (RST)',
  'fin-rst': 'closed (FIN), then reset (RST)',
  timeout: 'neither closed nor reset in time',
  'connect-error': 'could not connect',
};

/** A probe result for people. */
export function describeProbe(result: ProbeResult): string {
  const where = formatAddress(result);
  if (result.outcome === 'connect-error') return `${where}: could not connect (${result.connectError})`;
  const o = result.observation;
  const lines = [`${where}: ${OUTCOME_WORDS[result.outcome]} after ${bytes(result.received)} received, ${bytes(result.sent)} sent`];
  lines.push(`  what Node reported: ${nodeSaw(o)}`);
  if (o.kernelError) lines.push(`  what the kernel had: ${o.kernelError}${o.hiddenReset ? ' (Node reported only a clean end)' : ''}`);
  if (!o.kernelKnows) lines.push('  (this platform cannot peek pending socket errors: a reset Node reported as an end would look like a FIN)');
  // As in --json: a state at the peer's end only if Node delivered that end as 'end' (else where
  // it was at close). A peer that ended otherwise (a reset reported as 'error') did end: say why
  // there is no state for it rather than that no end was seen.
  const atClose = o.state.atClose ? `; at close: ${o.state.atClose}` : '';
  if (o.state.atPeerEnd !== null) lines.push(`  TCP state at the peer's end: ${o.state.atPeerEnd}`);
  else if (o.peer === 'none') lines.push(`  TCP state at the peer's end: none (no end seen)${atClose}`);
  else lines.push(`  TCP state at the peer's end: unknown (Node reported ${o.node.error ? "this end as an 'error', not an 'end'" : "only 'close', no 'end'"})${atClose}`);
  // The first byte as Node delivered it; the end as first seen, by Node or a look at the kernel
  // (which can be sooner than that delivery).
  lines.push(`  timings: connect ${ms(result.connectMs)}, first byte (Node) ${ms(result.firstByteMs)}, end ${ms(result.endMs)}, closed ${ms(result.durationMs)}`);
  return lines.join('\n');
}

/** What Node's own events said. */
function nodeSaw(o: CloseObservation): string {
  const parts: string[] = [];
  if (o.node.sawEnd) parts.push("'end' (a clean EOF)");
  if (o.node.error) parts.push(`'error' ${o.node.error.code ?? o.node.error.message}${o.node.error.syscall ? ` (${o.node.error.syscall})` : ''}`);
  if (parts.length === 0) parts.push("only 'close'");
  return parts.join(', then ');
}

/** The compact JSON form of a probe result (the observation's snapshots left out). */
export function probeJson(result: ProbeResult): Record<string, unknown> {
  const o = result.observation;
  return {
    host: result.host,
    port: result.port,
    outcome: result.outcome,
    received: result.received,
    sent: result.sent,
    connectError: result.connectError,
    kernelError: o.kernelError,
    hiddenReset: o.hiddenReset,
    kernelKnows: o.kernelKnows,
    nodeError: o.node.error?.code ?? null,
    nodeSawEnd: o.node.sawEnd,
    initiator: o.initiator,
    peer: o.peer,
    local: o.local,
    stateAtPeerEnd: o.state.atPeerEnd,
    stateAtClose: o.state.atClose,
    connectMs: result.connectMs,
    firstByteMs: result.firstByteMs,
    endMs: result.endMs,
    durationMs: result.durationMs,
  };
}

/** One fault-server connection for people. */
export function describeServerReport(report: FaultConnectionReport): string {
  const o = report.observation;
  return (
    `#${report.id} ${formatAddress(report.remote)} ${report.behavior}: server sent ${endWords(o.local, 'local')}, ` +
    `client sent ${endWords(o.peer, 'peer')}; read ${bytes(o.bytes.received)}, wrote ${bytes(o.bytes.sent)}` +
    (o.bytes.unreadAtClose ? `, ${bytes(o.bytes.unreadAtClose)} unread at close` : '') +
    `; steps: ${report.steps.map(stepWords).join(' > ') || '-'}`
  );
}

/** A step's name, with how its wait ended when that was not the awaited event (`wrote (timeout)`). */
function stepWords({ step, detail }: FaultConnectionReport['steps'][number]): string {
  const result = detail?.result;
  return typeof result === 'string' && result !== 'met' && result !== 'head' ? `${step} (${result})` : step;
}

/** The JSON form of a fault-server connection. */
export function serverReportJson(report: FaultConnectionReport): Record<string, unknown> {
  const o = report.observation;
  return {
    event: 'connection',
    id: report.id,
    behavior: report.behavior,
    remote: report.remote,
    serverEnd: o.local,
    clientEnd: o.peer,
    initiator: o.initiator === 'local' ? 'server' : o.initiator === 'peer' ? 'client' : 'unknown',
    read: o.bytes.received,
    written: o.bytes.sent,
    acked: o.bytes.acked,
    unreadAtClose: o.bytes.unreadAtClose,
    steps: report.steps,
    closeMs: o.timings.closeMs,
  };
}

/** One proxied connection for people. */
export function describeLinkReport(report: ProxyLinkReport): string {
  const toxics = report.toxics.map((t) => `${t.toxic}:${t.action}@${ms(t.atMs)}`).join(', ');
  return (
    `#${report.id} ${formatAddress(report.client)}: ended by ${report.endedBy}` +
    (report.upstreamError ? ` (${report.upstreamError})` : '') +
    `; up ${bytes(report.bytes.upstream)}, down ${bytes(report.bytes.downstream)}` +
    (report.bytes.droppedUpstream + report.bytes.droppedDownstream > 0
      ? `, dropped ${bytes(report.bytes.droppedUpstream)} up / ${bytes(report.bytes.droppedDownstream)} down`
      : '') +
    `; client got ${endWords(report.clientSide.local, 'local')}` +
    (report.upstreamSide ? `, upstream got ${endWords(report.upstreamSide.local, 'local')}` : '') +
    (toxics ? `; toxics: ${toxics}` : '')
  );
}

/** The JSON form of a proxied connection. */
export function linkReportJson(report: ProxyLinkReport): Record<string, unknown> {
  return {
    event: 'connection',
    id: report.id,
    client: report.client,
    endedBy: report.endedBy,
    upstreamError: report.upstreamError,
    bytes: report.bytes,
    toxics: report.toxics,
    clientEnd: { fromClient: report.clientSide.peer, fromProxy: report.clientSide.local },
    upstreamEnd: report.upstreamSide ? { fromUpstream: report.upstreamSide.peer, fromProxy: report.upstreamSide.local } : null,
  };
}
