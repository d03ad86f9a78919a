// Waiting on events, never on the clock: every wait has a timeout that fails loudly with what was
// awaited, instead of a sleep that hopes the event came.
import type { EventEmitter } from 'node:events';

/** Resolves with `promise`, or rejects after `ms` naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The arguments of the next `event` on `emitter`. Rejects on timeout, and on an 'error' event
 * unless `errors` is 'ignore' (for sockets where a reset is expected and only 'close' matters).
 */
export function nextEvent<T extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  event: string,
  ms = 5000,
  errors: 'reject' | 'ignore' = 'reject',
): Promise<T> {
  return within(
    new Promise<T>((resolve, reject) => {
      const onEvent = (...args: unknown[]) => {
        emitter.off('error', onError);
        resolve(args as T);
      };
      const onError = (error: Error) => {
        emitter.off(event, onEvent);
        reject(error);
      };
      emitter.once(event, onEvent);
      if (event !== 'error' && errors === 'reject') emitter.once('error', onError);
    }),
    ms,
    `'${event}'`,
  );
}

/**
 * Polls `condition` (bounded: at most `ms`, every few ms) for states the kernel reaches with no
 * event to wait on (a TCP state change seen by `ss`, an RST reaching the peer's queue).
 */
export async function until(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (let delay = 1; ; delay = Math.min(delay * 2, 25)) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * until() for a listener that must not return before a kernel state is reached, because the code
 * under test runs on right after it (an 'accept' listener holding a server's first step): polls
 * `condition` (at most `ms`, every few ms), blocking the thread between looks. Only for states
 * another process brings about: nothing in this one runs meanwhile. Throws on timeout.
 */
export function untilSync(condition: () => boolean, ms: number, what: string): void {
  const deadline = Date.now() + ms;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let delay = 1; ; delay = Math.min(delay * 2, 25)) {
    if (condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    Atomics.wait(cell, 0, 0, delay);
  }
}
