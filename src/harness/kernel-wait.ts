// Waiting for kernel states that have no event: "every byte I wrote is acknowledged", "the peer's
// request bytes have arrived (unread)", "my FIN is acknowledged". The kernel offers no
// notification for these, so poll the socket's inspection with a short backoff, bounded in time.
// The socket is re-resolved at each poll (inspectSocket does it): once it is destroyed, stop.
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { inspectSocket, type SocketInspection } from '../inspect-socket.js';

/**
 * How a wait ended: the condition held, the time ran out, the socket closed; or, as `ended`
 * judged: the peer left (`'peer-left'`), or its FIN means the condition can never hold
 * (`'peer-finished'`).
 */
export type WaitResult = 'met' | 'timeout' | 'closed' | 'peer-left' | 'peer-finished';

/**
 * Resolves `'met'` once `condition(inspection)` holds, `'timeout'` after `timeoutMs`, or
 * `'closed'` as soon as the socket is destroyed or cannot be inspected any more. `ended`, given
 * each inspection the condition did not satisfy, may end the wait first with what it returns.
 */
export async function waitForKernel(
  socket: net.Socket,
  condition: (inspection: SocketInspection, socket: net.Socket) => boolean,
  timeoutMs: number,
  ended?: (inspection: SocketInspection) => 'peer-left' | 'peer-finished' | null,
): Promise<WaitResult> {
  const deadline = Date.now() + timeoutMs;
  // Most of these states are reached within a loopback round trip: start at 1 ms, back off to 16.
  for (let delay = 1; ; delay = Math.min(delay * 2, 16)) {
    if (socket.destroyed) return 'closed';
    let inspection: SocketInspection;
    try {
      inspection = inspectSocket(socket);
    } catch {
      return 'closed';
    }
    if (condition(inspection, socket)) return 'met';
    const early = ended?.(inspection) ?? null;
    if (early !== null) return early;
    const left = deadline - Date.now();
    if (left <= 0) return 'timeout';
    await sleep(Math.min(delay, left));
  }
}

/** Everything written so far has left Node and been acknowledged by the peer's kernel. */
export function allAcknowledged(inspection: SocketInspection, socket: net.Socket): boolean {
  return socket.writableLength === 0 && (inspection.sendQueueBytes ?? inspection.unackedBytes ?? 0) === 0;
}

/** Node holds nothing unwritten and the kernel has transmitted every byte (some may await their ACK). */
export function nothingUnsent(inspection: SocketInspection, socket: net.Socket): boolean {
  return socket.writableLength === 0 && (inspection.unsentBytes ?? 0) === 0;
}

/** At least one byte the peer sent is waiting, unread, in our receive queue. */
export function hasUnreadInput(inspection: SocketInspection): boolean {
  return (inspection.unreadBytes ?? 0) > 0;
}

/** Unread input is waiting, or none ever will: the peer has sent its FIN, or the connection is gone. */
export function unreadInputSettled(inspection: SocketInspection): boolean {
  return hasUnreadInput(inspection) || !(inspection.state === 'ESTABLISHED' || inspection.state === 'FIN_WAIT1' || inspection.state === 'FIN_WAIT2');
}

/**
 * Our FIN has left: every byte and the FIN itself are transmitted (the kernel counts the FIN in the
 * send queue until it is sent). Not "acknowledged": a peer may delay the ACK of a FIN until its
 * application reads, and then answers with its own FIN in the same segment.
 */
export function finSent(inspection: SocketInspection): boolean {
  const state = inspection.state;
  if (state === 'CLOSE' || state === 'TIME_WAIT' || state === 'FIN_WAIT2') return true;
  return (state === 'FIN_WAIT1' || state === 'CLOSING' || state === 'LAST_ACK') && (inspection.unsentBytes ?? 0) === 0;
}
