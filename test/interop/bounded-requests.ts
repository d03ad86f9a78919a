// Runs N requests a few at a time: enough parallel connections to load the proxies as real
// traffic would, bounded in count, in concurrency and (each request has its own) in time.
import { within } from '../helpers/wait.js';

/**
 * Runs `one(0 … count-1)` with at most `concurrency` at once; all results, in index order. The
 * first failure, or `totalMs` passing, rejects and starts no more.
 */
export async function runBounded<T>(count: number, concurrency: number, totalMs: number, one: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const stop = () => (next = count);
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      try {
        results[index] = await one(index);
      } catch (error) {
        stop();
        throw error;
      }
    }
  };
  try {
    await within(Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker)), totalMs, `${count} requests (${concurrency} at a time)`);
  } catch (error) {
    stop();
    throw error;
  }
  return results;
}
