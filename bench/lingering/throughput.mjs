#!/usr/bin/env node
// bench:linger-throughput — requests per second of an http server that answers with
// `Connection: close` (every request is a new connection and a server-side close), plain Node
// against enableLingeringClose(), under load from Debian's `wrk` (a C load generator far cheaper
// than the server, so the server is the bottleneck), pinned to one core with the server on the
// other; autocannon (`--generator autocannon`, or when wrk is missing) shares the server's cores.
// The ratio lingering / plain is measured in this one run: rounds alternate which mode goes first, each round prints both figures, and the
// verdict is the median of the per-round ratios (the machine is shared and noisy) over the rounds
// where both servers kept their core busy (>= 0.9 of it: else the server was not the limit, and the
// ratio says nothing of its cost); at least half the rounds must be such. Target >= 0.95.
// Each round also prints the server's CPU time per request in each mode, which the other load on a
// shared machine disturbs much less than requests per second.
// --server-share F (0 < F <= 1): each server gets F of its core (a cgroup cpu quota, cpu-quota.mjs;
// needs root). On two cores wrk costs more per request than the plain server does, so without it
// the server is never the limit (NOT MEASURED); with 0.5 it is, and "busy" is read against F.
//
//   node bench/lingering/throughput.mjs [--rounds 30] [--duration 1] [--connections 20]
//                                       [--generator wrk|autocannon] [--server-share F] [--check]
//                                       [--mode always|as-needed]
// --check: exit 1 if the median ratio is below the target, or if the lingering server's counters
// show fewer lingering closes than requests it answered (NOT MEASURED).
// --mode as-needed: the lingering server under enableLingeringClose({ mode: 'as-needed' }), which
// closes a request read whole without a linger (nginx's `lingering_close on`): what that mode costs
// on this path; each request must be counted as lingered or notNeeded; no target is judged.
import { execFile, spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { median } from '../core/stats.mjs';
import { limitCpu } from './cpu-quota.mjs';

import autocannon from 'autocannon';

const here = path.dirname(fileURLToPath(import.meta.url));
const TARGET = 0.95;

function option(name, env, fallback) {
  const index = process.argv.indexOf(name);
  const value = Number(index >= 0 ? process.argv[index + 1] : (process.env[env] ?? fallback));
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench:linger-throughput: ${name} must be a positive integer`);
    process.exit(2);
  }
  return value;
}
// An even count: as many rounds start with each mode (the order moves each figure by a few %).
// Many short rounds, not a few long ones: this shared machine's speed drifts over seconds, and a
// round's two runs are compared with each other only. On the same code, six rounds of 5 s gave
// verdicts from 0.831 to 1.037 (7 runs); thirty rounds of 1 s, 0.915 to 1.068 (9 runs), within one
// hour (2026-12-07, docs/benchmarks.md): a little steadier, no more.
const rounds = option('--rounds', 'BENCH_THROUGHPUT_ROUNDS', 30);
const duration = option('--duration', 'BENCH_THROUGHPUT_DURATION', 1);
const connections = option('--connections', 'BENCH_THROUGHPUT_CONNECTIONS', 20);

const modeIndex = process.argv.indexOf('--mode');
const lingerMode = modeIndex >= 0 ? process.argv[modeIndex + 1] : 'always';
if (lingerMode !== 'always' && lingerMode !== 'as-needed') {
  console.error('bench:linger-throughput: --mode takes always or as-needed');
  process.exit(2);
}
const asNeeded = lingerMode === 'as-needed';

const shareIndex = process.argv.indexOf('--server-share');
const share = shareIndex >= 0 ? Number(process.argv[shareIndex + 1]) : 1;
if (!(share > 0 && share <= 1)) {
  console.error('bench:linger-throughput: --server-share takes a fraction of a core, 0 < F <= 1');
  process.exit(2);
}

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const wanted = process.argv.includes('--generator') ? process.argv[process.argv.indexOf('--generator') + 1] : has('wrk') ? 'wrk' : 'autocannon';
if (wanted !== 'wrk' && wanted !== 'autocannon') {
  console.error('bench:linger-throughput: --generator takes wrk or autocannon');
  process.exit(2);
}
if (wanted === 'wrk' && !has('wrk')) {
  console.error('bench:linger-throughput: wrk is not installed (apt-get install wrk), or use --generator autocannon');
  process.exit(2);
}
// Server on the last core, generator on the first: the two never compete for one.
const pin = has('taskset') && os.availableParallelism() >= 2;
const lastCore = String(os.availableParallelism() - 1);
const pinned = (core, command, args) => (pin ? ['taskset', ['-c', core, command, ...args]] : [command, args]);

function startServer(mode) {
  const serverMode = mode === 'lingering' && asNeeded ? 'as-needed' : mode;
  const [command, args] = pinned(lastCore, process.execPath, [path.join(here, 'throughput-server.mjs'), serverMode]);
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let quota = null;
  if (share < 1) {
    quota = limitCpu(child.pid, share, mode);
    if (quota.reason) {
      console.error(`bench:linger-throughput: --server-share ${share}: ${quota.reason}`);
      child.kill();
      process.exit(2);
    }
  }
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    port: lines.next().then(({ value }) => Number(value)),
    stats: async () => {
      child.stdin.write('stats\n');
      return JSON.parse((await lines.next()).value);
    },
    stop: async () => {
      child.stdin.end();
      await exited;
      quota?.release();
    },
  };
}

/** One run of load: {requests, duration, errors}. */
function load(port, seconds = duration) {
  if (wanted === 'wrk') {
    const [command, args] = pinned('0', 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`]);
    return new Promise((resolve, reject) => {
      execFile(command, args, { timeout: (seconds + 30) * 1000 }, (error, stdout) => {
        if (error) return reject(error);
        const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
        if (!Number.isInteger(requests)) return reject(new Error(`bench:linger-throughput: no request count in wrk's output: ${stdout.slice(-400)}`));
        const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
        const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
        // wrk counts a read error for every server-side close it sees mid-keep-alive: the closes
        // are the test, so only connect errors, timeouts and bad statuses count as errors here.
        resolve({ requests, duration: seconds, errors: errors ? Number(errors[1]) + Number(errors[4]) : 0, non2xx });
      });
    });
  }
  return new Promise((resolve, reject) => {
    autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: seconds }, (error, result) =>
      error ? reject(error) : resolve({ requests: result.requests.total, duration: result.duration || seconds, errors: result.errors + result.timeouts, non2xx: result.non2xx }),
    );
  });
}

const servers = { plain: startServer('plain'), lingering: startServer('lingering') };
const ports = { plain: await servers.plain.port, lingering: await servers.lingering.port };

console.log(
  `bench:linger-throughput — http server, Connection: close on every response; ${wanted}${wanted === 'autocannon' && !process.argv.includes('--generator') ? ' (wrk is not installed)' : ''}, ${connections} connections, ${duration} s per run, ${rounds} rounds${pin ? `; server on core ${lastCore}, ${wanted === 'wrk' ? 'wrk on core 0' : 'autocannon unpinned'}` : ''}${share < 1 ? `; each server limited to ${share} of its core (cgroup cpu quota)` : ''}${asNeeded ? "; the lingering server in mode 'as-needed'" : ''}\n`,
);
console.log('round  order              plain req/s  lingering req/s  ratio  server CPU µs/req plain / lingering  server busy plain / lingering  errors plain / lingering');
// A short warm-up of each, not counted: JIT, socket buffers, the kernel's port ranges.
for (const mode of ['plain', 'lingering']) await load(ports[mode], 1);

const ratios = [];
const cpuRatios = [];
// Lingering closes begun per request served by the lingering server, per round: each response
// ends its connection, so each request must have begun one (else the ratio compares two plain servers).
const lingeredShare = [];
// 'overload' is no linger at all (the pool was full: closed at once), so it does not count.
// Under --mode as-needed a close found not to need a linger counts too (it was decided, not
// missed); in the default mode notNeeded stays 0.
const begun = (stats) =>
  Object.entries(stats.lingering.reasons).reduce((sum, [reason, count]) => (reason === 'overload' ? sum : sum + count), 0) +
  stats.lingering.lingering +
  stats.lingering.notNeeded;
const totals = { plain: 0, lingering: 0 };
let leastBusy = Infinity;
// Rounds in which both servers used >= BUSY of their core: the only ones judged.
const BUSY = 0.9;
const judged = [];
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 ? ['plain', 'lingering'] : ['lingering', 'plain'];
  const results = {};
  const cpu = {};
  const busy = {};
  for (const mode of order) {
    const before = await servers[mode].stats();
    results[mode] = await load(ports[mode]);
    const after = await servers[mode].stats();
    cpu[mode] = (after.cpuMicros - before.cpuMicros) / Math.max(1, after.requests - before.requests);
    // The share of its core (of its quota, with --server-share) the server used: near 1 if it, not
    // the load generator, was the limit.
    busy[mode] = (after.cpuMicros - before.cpuMicros) / 1e6 / results[mode].duration / share;
    leastBusy = Math.min(leastBusy, busy[mode]);
    // Less one request per connection: the last responses' closes may not have begun yet.
    if (mode === 'lingering') lingeredShare.push((begun(after) - begun(before)) / Math.max(1, after.requests - before.requests - connections));
  }
  const rps = Object.fromEntries(Object.entries(results).map(([mode, result]) => [mode, result.requests / result.duration]));
  const ratio = rps.lingering / rps.plain;
  ratios.push(ratio);
  totals.plain += rps.plain;
  totals.lingering += rps.lingering;
  const errors = (mode) => results[mode].errors + results[mode].non2xx;
  cpuRatios.push(cpu.lingering / cpu.plain);
  const saturated = busy.plain >= BUSY && busy.lingering >= BUSY;
  if (saturated) judged.push(ratio);
  console.log(
    `${String(round).padStart(5)}  ${order.join(' → ').padEnd(17)}  ${rps.plain.toFixed(0).padStart(11)}  ${rps.lingering.toFixed(0).padStart(15)}  ${ratio.toFixed(3)}  ${`${cpu.plain.toFixed(0)} / ${cpu.lingering.toFixed(0)}`.padStart(35)}  ${`${busy.plain.toFixed(2)} / ${busy.lingering.toFixed(2)}`.padStart(29)}  ${errors('plain')} / ${errors('lingering')}${saturated ? '' : '  (not judged: a server below 0.9 busy)'}`,
  );
}

const { lingering: stats } = await servers.lingering.stats();
await Promise.all([servers.plain.stop(), servers.lingering.stop()]);
const enoughJudged = judged.length * 2 >= rounds;
const verdict = judged.length > 0 ? median(judged) : NaN;
// Precondition: the lingering server lingered (at least) every connection it answered, in every round.
const lingered = Math.min(...lingeredShare) >= 1;
console.log(
  `\nmedian ratio lingering / plain over the ${judged.length} of ${rounds} rounds judged: ${judged.length > 0 ? verdict.toFixed(3) : 'none'} (target >= ${TARGET}); over every round: ${median(ratios).toFixed(3)}; ratio of the means: ${(totals.lingering / totals.plain).toFixed(3)}`,
);
console.log(`median server CPU per request, lingering / plain: ${median(cpuRatios).toFixed(3)}`);
console.log(
  `lingering server${asNeeded ? " (mode 'as-needed')" : ''}: ${JSON.stringify(stats.reasons)}; peak ${stats.peakLingering} lingering at once; drained ${stats.drainedBytes} B${asNeeded ? `; closed with no linger (notNeeded) ${stats.notNeeded}` : ''}`,
);
console.log(
  `lingering closes begun${asNeeded ? ' or found not needed' : ''} per request it served (less one per connection), fewest in a round: ${Math.min(...lingeredShare).toFixed(3)} (must be >= 1)`,
);
console.log(
  `server busy (its CPU / the run's time), least in any run: ${leastBusy.toFixed(2)}${leastBusy < 0.9 ? ': below 0.9, the server was not the only limit in that run (req/s ratios then read closer to 1 than the servers are)' : ''}`,
);
const met = !asNeeded && lingered && enoughJudged && verdict >= TARGET;
console.log(
  !lingered
    ? `NOT MEASURED: the lingering server did not ${asNeeded ? 'decide' : 'linger'} every connection`
    : asNeeded
      ? 'NOT JUDGED: --mode as-needed (the target is judged on the default mode, where every connection lingers)'
      : !enoughJudged
        ? `NOT MEASURED: a server was the limit in only ${judged.length} of ${rounds} rounds (at least half needed)${share < 1 ? '; rerun on a quieter machine, or with a smaller --server-share' : '; rerun on a quieter machine, or with --server-share 0.5 (as root)'}`
        : met
          ? 'target met'
          : 'BELOW TARGET',
);
console.log('where the difference goes (syscalls, instructions, a timed calibration): npm run bench:linger-split');
if (process.argv.includes('--check') && !met) process.exit(1);
