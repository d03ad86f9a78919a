// Module load time and memory: require('sockclose') against require('net'), each in a fresh
// process (nothing cached but the OS's file cache), many times, interleaved in a seeded order;
// medians. sockclose's first native call (which loads the binary, lazily) is measured separately.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { median, pairedRatio, seeded, shuffle } from './stats.mjs';

const probe = path.join(import.meta.dirname, 'load-probe.cjs');

function sample(variant) {
  const out = execFileSync(process.execPath, ['--expose-gc', probe, variant], {
    encoding: 'utf8',
    // A user's fresh process: no inherited loader hooks or sanitizer preloads.
    env: { ...process.env, NODE_OPTIONS: '', LD_PRELOAD: '' },
  });
  return JSON.parse(out);
}

/**
 * @param {{ repetitions?: number, seed?: number, log?: (line: string) => void }} options
 */
export function load(options = {}) {
  const { repetitions = 30, seed = Date.now() % 2 ** 31, log = () => {} } = options;
  const random = seeded(seed);
  const samples = { net: [], sockclose: [] };
  for (let i = 0; i < repetitions; i++) {
    for (const variant of shuffle(Object.keys(samples), random)) samples[variant].push(sample(variant));
    if ((i + 1) % 10 === 0) log(`  ${i + 1}/${repetitions} fresh processes each`);
  }
  const pick = (list, get) => list.map(get);
  const net = samples.net;
  const ours = samples.sockclose;
  const kib = (bytes) => bytes / 1024;
  return {
    seed,
    repetitions,
    net: {
      ms: median(pick(net, (s) => s.requireMs)),
      cpuMs: median(pick(net, (s) => s.requireCpuMs)),
      heapKiB: kib(median(pick(net, (s) => s.require.heapUsed))),
      rssKiB: kib(median(pick(net, (s) => s.require.rss))),
    },
    sockclose: {
      ms: median(pick(ours, (s) => s.requireMs)),
      cpuMs: median(pick(ours, (s) => s.requireCpuMs)),
      cpuVsNet: pairedRatio(pick(ours, (s) => s.requireCpuMs), pick(net, (s) => s.requireCpuMs)),
      modules: ours[0].ownModules,
      heapKiB: kib(median(pick(ours, (s) => s.require.heapUsed))),
      rssKiB: kib(median(pick(ours, (s) => s.require.rss))),
      vsNet: pairedRatio(pick(ours, (s) => s.requireMs), pick(net, (s) => s.requireMs)),
    },
    firstCall: {
      ms: median(pick(ours, (s) => s.firstCallMs)),
      heapKiB: kib(median(pick(ours, (s) => s.firstCall.heapUsed))),
      rssKiB: kib(median(pick(ours, (s) => s.firstCall.rss))),
      externalKiB: kib(median(pick(ours, (s) => s.firstCall.external))),
    },
    // Node built-ins that require('sockclose') loads beyond what require('net') loads.
    extraBuiltins: ours[0].builtins.filter((name) => !net[0].builtins.includes(name)),
    netBuiltins: net[0].builtins.length,
  };
}
