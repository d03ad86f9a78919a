// Unknown option keys are refused, not ignored: a misspelt bound (`idle` for `idleTimeout`) would
// otherwise leave its default in force without a word, and the caller would believe it took
// effect. Shared by the core's functions and the harness's.
import { invalidArgValue, type Caller } from './errors.js';

/**
 * The keys of an options type, from a record that names each once: the compiler checks that it
 * lists every key of `T` and no other, so a new option cannot be left out of {@link refuseUnknown}.
 */
export function optionKeys<T>(keys: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

/**
 * Throws `ERR_INVALID_ARG_VALUE` for an own enumerable key of `given` not in `known`, whatever its
 * value: a misspelt option (`delay` for `delayMs`) would otherwise be ignored without a word, and
 * the caller would believe it took effect. The message names the key and, where one is close, the
 * known key meant; else every known key. `what` completes "is not …" (`'an option of probe()'`).
 */
export function refuseUnknown(given: object, known: readonly string[], name: string, what: string, caller: Caller): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const meant = closestKeys(key, known);
    const hint = meant.length > 0 ? `did you mean ${meant.map((k) => `'${k}'`).join(' or ')}?` : `it has: ${known.join(', ')}`;
    throw invalidArgValue(`${name}.${key}`, (given as Record<string, unknown>)[key], `is not ${what} (${hint})`, caller);
  }
}

/**
 * The known keys `key` was most likely meant as: the same but for case, else those within two
 * edits (fewer than the key's own length, so that `'id'` suggests nothing), else those it starts
 * or that start it (3 characters at least: `'delay'` for `'delayMs'`). Several only on a tie.
 */
function closestKeys(key: string, known: readonly string[]): string[] {
  const lower = key.toLowerCase();
  const sameCase = known.filter((k) => k.toLowerCase() === lower);
  if (sameCase.length > 0) return sameCase;
  const distances = known.map((k) => editDistance(lower, k.toLowerCase()));
  const best = Math.min(...distances);
  if (best <= 2 && best < key.length) return known.filter((_, i) => distances[i] === best);
  return known.filter((k) => {
    const other = k.toLowerCase();
    const [shorter, longer] = other.length < lower.length ? [other, lower] : [lower, other];
    return shorter.length >= 3 && longer.startsWith(shorter);
  });
}

/** Edits (insert, delete, replace, swap two neighbours) from `a` to `b`: `'delyaMs'` is one from `'delayMs'`. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}
