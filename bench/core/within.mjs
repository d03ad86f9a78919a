// A bench never hangs: every wait on another process or the kernel is bounded, and a stall ends
// the run loudly.

/** `promise`, or a rejection "`what` took over `ms` ms" once `ms` has passed. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
