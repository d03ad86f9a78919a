// Delays that are never short. Node's timers count from the event loop's cached time, which can
// be a few milliseconds stale when the timer is set (a busy loop), so a 150 ms timer may fire
// after 146 ms of real time. A fault that promises "not before N ms" checks the monotonic clock
// and waits out the rest.

/** A timer that can be cancelled. */
export interface Timer {
  cancel(): void;
}

/** Calls `callback` once at least `ms` milliseconds of real time have passed. */
export function after(ms: number, callback: () => void): Timer {
  const target = performance.now() + ms;
  let timer: NodeJS.Timeout;
  const check = () => {
    const left = target - performance.now();
    if (left > 0) timer = setTimeout(check, Math.ceil(left));
    else callback();
  };
  timer = setTimeout(check, ms);
  return { cancel: () => clearTimeout(timer) };
}

/** The error an aborted wait rejects with, as Node's own timers/promises name it. */
export function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}

/** Resolves once at least `ms` milliseconds have passed; rejects with an AbortError if `signal` aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      timer.cancel();
      reject(abortError());
    };
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const timer = after(ms, () => {
      signal?.removeEventListener('abort', abort);
      resolve();
    });
    signal?.addEventListener('abort', abort, { once: true });
  });
}
