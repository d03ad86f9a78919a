// Hand-made inputs for judge() (lib/harness/close-verdict.js): kernel looks, what Node did, and when.
import { createRequire } from 'node:module';
import path from 'node:path';

import type { CloseSnapshot, Moments, NodeView } from '../../lib/harness/close-verdict.js';
import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);
export const { judge } = require(path.join(root, 'lib', 'harness', 'close-verdict.js')) as typeof import('../../lib/harness/close-verdict.js');

export type LookInput = {
  state: CloseSnapshot['state'];
  /** The peeked pending error, as the core names it. */
  err?: string;
  /** The kernel counted the peer's FIN (true), counted none (false), or cannot tell (null). */
  fin: boolean | null;
  unread?: number;
  /** Bytes the kernel had not sent (null: unknown); 0 by default. */
  unsent?: number | null;
  closeWouldReset?: boolean;
  abortive?: boolean;
  /** Our FIN took its sequence number (the kernel's counts add up to it); null (unknown) by default. */
  finQueued?: boolean | null;
};

/** A look at the kernel taken at `at`, `atMs` into the connection. */
export function look(at: CloseSnapshot['at'], atMs: number, input: LookInput): CloseSnapshot {
  return {
    at,
    atMs,
    state: input.state,
    pendingError: input.err ?? null,
    pendingErrorKnown: true,
    unreadBytes: input.unread ?? 0,
    unsentBytes: input.unsent === undefined ? 0 : input.unsent,
    unackedBytes: 0,
    closeWouldReset: input.closeWouldReset ?? false,
    abortive: input.abortive ?? false,
    kernelBytesReceived: null,
    kernelBytesAcked: null,
    nodeBytesRead: 0,
    peerFinReceived: input.fin,
    finQueued: input.finQueued ?? null,
    inspectError: null,
  };
}

/** A look that could not be taken (no native binary). */
export function failed(at: CloseSnapshot['at'], atMs: number): CloseSnapshot {
  return { ...look(at, atMs, { state: null, fin: null }), pendingErrorKnown: false, unreadBytes: null, inspectError: 'ERR_SOCKCLOSE_UNSUPPORTED' };
}

/** What Node did: connected, and nothing else unless said. */
export function node(view: Partial<NodeView>): NodeView {
  return { connected: true, sawEnd: false, error: null, finished: false, destroyedWithoutError: false, nodeReset: false, ...view };
}

/** When Node's events came (ms into the connection); null: never. */
export function moments(m: Partial<Moments>): Moments {
  return { end: null, finish: null, destroy: null, error: null, ...m };
}
