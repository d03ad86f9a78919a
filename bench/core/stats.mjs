// Small statistics for noisy machines: medians and spreads of repeated, interleaved samples.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** @param {number[]} values */
export function median(values) {
  return quantile(values, 0.5);
}

/**
 * Linear-interpolated quantile of `values` (not modified).
 * @param {number[]} values
 * @param {number} q 0..1
 */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

/**
 * Median of per-round ratios: each round's two samples were taken back to back, so the ratio of
 * a pair cancels most of the machine's slow drift (another engineer's test run starting, …).
 * @param {number[]} numerators
 * @param {number[]} denominators
 */
export function pairedRatio(numerators, denominators) {
  const ratios = numerators.map((value, index) => value / denominators[index]);
  return { median: median(ratios), low: quantile(ratios, 0.25), high: quantile(ratios, 0.75) };
}

/**
 * Median [interquartile range] of per-round differences: for comparing quantities that may be
 * near zero or negative (a ratio of two noisy overheads is meaningless there).
 */
export function pairedDifference(values, baselines) {
  const differences = values.map((value, index) => value - baselines[index]);
  return { median: median(differences), low: quantile(differences, 0.25), high: quantile(differences, 0.75) };
}

/** Fisher–Yates shuffle driven by a seeded generator. @template T @param {T[]} items @param {() => number} random */
export function shuffle(items, random) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** mulberry32, seeded, so a run's order can be reproduced (shared with the robustness tests). */
export const seeded = require('../../scripts/seeded-random.cjs').seededRandom;
