// One shared clock for every lingering socket's timeouts, instead of a timer per socket: most
// lingers end within a round trip, and arming then cancelling a timer for each is a measurable part
// of a lingering close's cost under load (as nginx and Apache keep one timer tree, not a timer per
// connection). The idle and total timeouts are therefore exact to within one tick.

/** Something with a deadline. */
export interface Ticking {
  /** `performance.now()` at which `onTick` is due. */
  wakeAt: number;
  onTick(now: number): void;
}

/** How often the shared clock looks at the deadlines. */
const TICK_MS = 25;

const waiting = new Set<Ticking>();
let interval: NodeJS.Timeout | null = null;

function tick(): void {
  const now = performance.now();
  for (const item of waiting) {
    if (item.wakeAt <= now) item.onTick(now);
  }
  if (waiting.size === 0 && interval) {
    clearInterval(interval);
    interval = null;
  }
}

/** Starts watching `item.wakeAt` (a no-op if already watched). */
export function watch(item: Ticking): void {
  waiting.add(item);
  // Kept referenced: a lingering socket must be closed at its deadline even if nothing else keeps
  // the loop alive (a peer that sends nothing leaves libuv no I/O to wait for).
  interval ??= setInterval(tick, TICK_MS);
}

/** Stops watching `item`. */
export function unwatch(item: Ticking): void {
  waiting.delete(item);
}
