import { threadStats } from './pool.js';
import type { LingeringCloseStats } from './types.js';

/**
 * The counters of every lingering close in this thread (all servers, and direct
 * {@link lingeringClose} calls): sockets lingering now and at most, how each close ended, the
 * fallbacks taken (short lingers, closes refused for overload, resets at a timeout), bytes drained.
 *
 * @example
 * ```ts
 * const { lingering, reasons } = lingeringCloseStats();
 * metrics.gauge('lingering_sockets', lingering);
 * ```
 */
export function lingeringCloseStats(): LingeringCloseStats {
  return threadStats();
}
