// One shared clock for the timeouts of half-closed sockets (the stage of a lingering close that is
// still Node's), instead of a timer per socket: most never need it (http destroys the socket right
// after its half-close), and arming then cancelling a timer for each is a measurable part of a
// close's cost under load. The timeouts are therefore exact to within one tick.
//
// Watching is a push onto an array and unwatching a flag: the tick drops unwatched items. No Set
// or Map operation per socket on the common path, where an item is unwatched in the same tick.

import { clockNow } from './clock.js';

/** Something with a deadline. */
export interface Ticking {
  /** `clockNow()` at which `onTick` is due. */
  wakeAt: number;
  /** Set by {@link watch}, cleared by {@link unwatch}. */
  watched: boolean;
  onTick(now: number): void;
}

/** How often the shared clock looks at the deadlines. */
const TICK_MS = 25;

let waiting: Ticking[] = [];
let interval: NodeJS.Timeout | null = null;

function tick(): void {
  const now = clockNow();
  const items = waiting;
  waiting = [];
  // An item unwatched and watched again before this tick stands in the array twice: keep it once.
  const kept = new Set<Ticking>();
  for (const item of items) {
    if (!item.watched || kept.has(item)) continue;
    if (item.wakeAt <= now) item.onTick(now);
    if (item.watched) kept.add(item);
  }
  waiting = [...kept, ...waiting.filter((item) => !kept.has(item))];
  if (waiting.length === 0 && interval) {
    clearInterval(interval);
    interval = null;
  }
}

/** Starts watching `item.wakeAt` (a no-op if already watched). */
export function watch(item: Ticking): void {
  if (item.watched) return;
  item.watched = true;
  waiting.push(item);
  // Kept referenced: a half-closed socket must be ended at its deadline.
  interval ??= setInterval(tick, TICK_MS);
}

/** Calls `visit` with every item watched now. */
export function forEachWatched(visit: (item: Ticking) => void): void {
  for (const item of waiting) if (item.watched) visit(item);
}

/** Stops watching `item`. */
export function unwatch(item: Ticking): void {
  item.watched = false;
}
