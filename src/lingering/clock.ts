// The lingering close's clock: performance.now(), read without the `performance` global. Node
// defines that global as a lazy accessor that stays an accessor, so every bare `performance.now()`
// runs a getter through an uncached global load: ~200 instructions under callgrind, twice per
// request on the hand-over path. The object is read once, at the first call (not at load: the
// getter loads perf_hooks, which `require('sockclose')` should not pay for).
let clock: { now(): number } | null = null;

/** Milliseconds on the monotonic clock `performance.now()` reads. */
export function clockNow(): number {
  return (clock ??= globalThis.performance).now();
}
