#!/usr/bin/env node
// bench:close-steps — the kernel's price of each syscall step the native lingerer adds for a silent
// peer (native/lingerer.cc), against the one close() a plain server makes, measured in C
// (bench/lingering/close-steps.c) so that nothing but the kernel is timed: the floor under
// bench:linger-cost's "lingering's extra" that no change to sockclose's JavaScript or C can lower
// without dropping a step. Each figure is CPU time per connection of the thread making the calls,
// which on loopback includes the peer's side of a packet it sends (the RST), and the wake-up of a
// peer waiting for it on another CPU (bench:linger-cost's client process waits so; one row shows
// the reset without such a waiter).
//
//   node bench/lingering/close-steps.mjs [--n 2000] [--rounds 5]
//
// Steps in the state the lingerer meets them: a plain close, the hand-over and the first look
// (1–2 ms after the response) warm; the idle timeout's steps cold (seconds later: the caches
// evicted first). Rounds interleave the steps in a rotating order; figures are medians.
// Linux only (epoll, SIOCOUTQ); needs gcc.
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';

import { compileC, scratchDir } from '../core/build-c.mjs';
import { median } from '../core/stats.mjs';

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  const value = Number(index >= 0 ? process.argv[index + 1] : fallback);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench:close-steps: ${name} takes a positive integer`);
    process.exit(2);
  }
  return value;
}
const n = option('--n', 2000);
const rounds = option('--rounds', 5);
if (process.platform !== 'linux') {
  console.log('bench:close-steps: Linux only (epoll, SIOCOUTQ): not measured here');
  process.exit(0);
}

// [name, step, cache, a peer waiting on another CPU]
const STEPS = [
  ['plain-close', 'plain-close', 'warm', true],
  ['handover', 'handover', 'warm', true],
  ['first-look', 'first-look', 'warm', true],
  ['timeout-reset', 'timeout-reset', 'cold', true],
  ['timeout-close', 'timeout-close', 'cold', true],
  ['timeout-reset, no waiter', 'timeout-reset', 'cold', false],
];
const binary = compileC('close-steps', scratchDir(), import.meta.dirname);
// On the last core, as bench:linger-cost's servers are (taskset, when this machine has it).
const lastCore = String(os.availableParallelism() - 1);
const pinned = spawnSync('taskset', ['-c', lastCore, 'true']).status === 0;

const samples = new Map(STEPS.map(([name]) => [name, { step: [], clients: [] }]));
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < STEPS.length; i++) {
    const [name, step, cache, watched] = STEPS[(i + round) % STEPS.length];
    const args = [binary, step, String(n), cache, ...(watched ? ['watched'] : [])];
    const [command, ...rest] = pinned ? ['taskset', '-c', lastCore, ...args] : args;
    const [, stepNs, clientsNs] = execFileSync(command, rest, { encoding: 'utf8', timeout: 60_000 }).trim().split(' ');
    samples.get(name).step.push(Number(stepNs));
    samples.get(name).clients.push(Number(clientsNs));
  }
}

const ns = (value) => `${(value / 1000).toFixed(2)} µs`;
const of = (step) => median(samples.get(step).step);
const clientsOf = (step) => median(samples.get(step).clients);
console.log(`bench:close-steps — ${n} silent loopback connections per run, ${rounds} rounds${pinned ? `, on core ${lastCore}` : ''}; medians\n`);
console.log('step                      cache  per connection  (range)              then the clients\' close');
for (const [name, , cache] of STEPS) {
  const values = samples.get(name).step;
  const range = `${ns(Math.min(...values))}–${ns(Math.max(...values))}`;
  console.log(`${name.padEnd(26)}${cache.padEnd(7)}${ns(of(name)).padStart(14)}  (${range})`.padEnd(72) + ns(clientsOf(name)).padStart(10));
}
const before = of('handover') + of('first-look');
const plain = of('plain-close');
console.log('');
for (const policy of ['reset', 'close']) {
  const lingering = before + of(`timeout-${policy}`);
  const both = lingering + clientsOf(`timeout-${policy}`) - (plain + clientsOf('plain-close'));
  console.log(
    `onTimeout '${policy}': the lingerer's steps ${ns(lingering)} against a plain close's ${ns(plain)}: ` +
      `${ns(lingering - plain)} more per connection in the server (${ns(both)} with the clients' closes)`,
  );
}
console.log(
  `a waiting peer's wake-ups, run in the server's context on loopback: ${ns(of('timeout-reset') - of('timeout-reset, no waiter'))} of the reset's ${ns(of('timeout-reset'))}`,
);
