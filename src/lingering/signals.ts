// One 'abort' listener per signal, however many closes and servers it ends: one each would set off
// Node's MaxListenersExceededWarning past ten (a shutdown signal shared by every server, or by the
// closes of a window, is the common case).

interface Listed {
  readonly actions: Set<() => void>;
  readonly listener: () => void;
}

const bySignal = new WeakMap<AbortSignal, Listed>();

/**
 * Runs `action` once, when `signal` aborts. Returns a function that forgets it (a no-op once it
 * ran): the signal's listener goes with the last action it had.
 */
export function whenAborted(signal: AbortSignal, action: () => void): () => void {
  let listed = bySignal.get(signal);
  if (listed === undefined) {
    const actions = new Set<() => void>();
    const listener = (): void => {
      bySignal.delete(signal);
      const due = [...actions];
      actions.clear();
      for (const run of due) run();
    };
    listed = { actions, listener };
    bySignal.set(signal, listed);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { actions, listener } = listed;
  actions.add(action);
  return () => {
    if (!actions.delete(action) || actions.size > 0) return;
    signal.removeEventListener('abort', listener);
    if (bySignal.get(signal) === listed) bySignal.delete(signal);
  };
}
