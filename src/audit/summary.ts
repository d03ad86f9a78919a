// The audit's one sentence: what its counters mean, and what to do about it.
import type { CloseAuditCounts } from './types.js';

/** 1234567 → '1,234,567'. */
export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** Bytes for people, in decimal units: 1234567 → '1.2 MB'. */
export function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function connections(n: number): string {
  return `${count(n)} connection${n === 1 ? '' : 's'}`;
}

/** One sentence saying what `counts` mean. */
export function summarize(counts: CloseAuditCounts): string {
  const { closed, resetsWithData, unreceivedBytes, unackedBytes: atRisk, unreadResets, lingered } = counts;
  if (closed === 0) return 'No connection has closed yet.';
  const handled = lingered > 0 ? ` (lingering close handled ${count(lingered)})` : '';
  if (resetsWithData > 0) {
    const ended = `${count(resetsWithData)} of ${connections(closed)} ended with RST`;
    // "had not received" says only what is certain (never transmitted); bytes sent but not
    // acknowledged may have reached the client, and are named apart, as at risk.
    const lost =
      unreceivedBytes > 0
        ? `while the client had not received ${size(unreceivedBytes)} of responses` +
          (atRisk > 0 ? ` (${size(atRisk)} more sent but not acknowledged, at risk)` : '')
        : 'after a response had been sent' +
          (atRisk > 0 ? ` (${size(atRisk)} of responses sent but not acknowledged, at risk)` : '') +
          ': a client that had not read it yet lost it';
    // Where lingering close is on already, the fix is a larger bound, not enabling it: one that
    // turned closes away (maxLingering reached, or no descriptor for the lingerer), or one that
    // gave up with the client still sending (its close, a reset on input left unread).
    const advice: string[] = [];
    if (counts.lingerOverload > 0) {
      advice.push(`lingering close turned ${count(counts.lingerOverload)} away (maxLingering reached, or no descriptor for it): raise maxLingering`);
    }
    if (counts.lingerUnreadResets > 0) advice.push(gaveUp(counts));
    // Unread-input RSTs it neither handled nor turned away closed where it is off (another server
    // under the preload, or closes before it was enabled): those still need it. A lower bound:
    // lingerOverload also counts refused closes that ended with FIN.
    const unhandled = unreadResets - counts.lingerUnreadResets - counts.lingerOverload;
    if (advice.length === 0) advice.push('enable lingering close');
    else if (unhandled > 0) advice.push(`enable lingering close for the other ${count(unhandled)}`);
    return `${ended} ${lost}${handled}; ${advice.join('; ')}.`;
  }
  // No RST lost data; a close may still have dropped what Node held for it (a destroy() before the
  // write finished): a FIN then ends a response the client never gets whole. Node's own queue,
  // so known even where the kernel cannot be asked.
  const discarded = counts.discardedWrites > 0 ? discards(counts.discardedWrites, counts.discardedBytes) : '';
  if (unreadResets > 0) {
    const those = discarded ? ` there; but ${discarded}` : '';
    return `${count(unreadResets)} of ${connections(closed)} ended with RST (request bytes left unread) before any response byte was sent${handled}: nothing of a response was lost${those}.`;
  }
  const but = discarded ? `, but ${discarded}` : '';
  const unknown = counts.ends.unknown;
  if (unknown === closed) {
    return `${connections(closed)} closed; the kernel could not be asked how they ended (no native binary, or this platform cannot tell)${but}.`;
  }
  return `None of ${connections(closed)} ended with an RST that could lose a response${handled}${but}.`;
}

// The bounds a linger can end on with the client still sending, and the option each is.
const BOUNDS = [
  ['drain-limit', 'maxDrainBytes'],
  ['max-timeout', 'maxTimeout'],
  ['idle-timeout', 'idleTimeout'],
] as const;

/** The advice for lingers a bound ended with the client still sending: which bound, and to raise it. */
function gaveUp(counts: CloseAuditCounts): string {
  const reasons = counts.lingerUnreadResetReasons;
  const which: string[] = [];
  const raise: string[] = [];
  for (const [reason, option] of BOUNDS) {
    if (reasons[reason] > 0) {
      which.push(`${count(reasons[reason])} at ${option}`);
      raise.push(option);
    }
  }
  if (reasons.aborted > 0) which.push(`${count(reasons.aborted)} aborted by a signal`);
  const why = which.length > 0 ? ` (${which.join(', ')})` : '';
  const advice = raise.length > 0 ? `: raise ${raise.join(' and ')} if such uploads are legitimate` : '';
  return `lingering close gave up on ${count(counts.lingerUnreadResets)} with the client still sending${why}${advice}`;
}

function discards(closes: number, bytes: number): string {
  const what = closes === 1 ? 'its response' : 'responses';
  return `${count(closes)} closed with ${size(bytes)} of ${what} still queued in Node, never sent (destroyed before the write finished)`;
}
