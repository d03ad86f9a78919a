#!/usr/bin/env node
// bench:audit — what the diagnostics channels and the close audit cost, as ratios against a
// baseline measured in the same run (the machine is shared and noisy: medians of alternating rounds).
//
// 1. A publish nobody subscribed to (publishLingerEnd, publishHardReset): ns per call against an
//    empty function call, and against the same publish with one subscriber.
// 2. An http server answering `Connection: close` (a new connection and a server-side close per
//    request) under autocannon: plain Node, auditCloses(), auditCloses() with a subscriber on
//    sockclose:audit:close; enableLingeringClose() with and without a sockclose:linger:end
//    subscriber. Requests per second and server CPU µs per request, each mode / its baseline.
//
// 3. The noise-free view (when valgrind is installed; --no-instructions skips it): user-space
//    instructions per Connection: close request, plain vs audited, counted by callgrind as
//    (I(n2) - I(n1)) / (n2 - n1) with node --predictable (bench/core/instructions.mjs's method).
//    The kernel's side of the audit's syscalls is not in it: section 1b times that.
//
//   node bench/audit/cost.mjs [--rounds 3] [--duration 3] [--connections 20] [--calls 5000000] [--no-instructions]
import { spawn } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import autocannon from 'autocannon';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const channels = require('../../lib/diagnostics/channels.js');

function option(name, env, fallback) {
  const index = process.argv.indexOf(name);
  const value = Number(index >= 0 ? process.argv[index + 1] : (process.env[env] ?? fallback));
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench:audit: ${name} must be a positive integer`);
    process.exit(2);
  }
  return value;
}
const rounds = option('--rounds', 'BENCH_AUDIT_ROUNDS', 3);
const duration = option('--duration', 'BENCH_AUDIT_DURATION', 3);
const connections = option('--connections', 'BENCH_AUDIT_CONNECTIONS', 20);
const calls = option('--calls', 'BENCH_AUDIT_CALLS', 5_000_000);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

// ---- 1. publish with nobody subscribed --------------------------------------------------------
const report = { reason: 'eof', drainedBytes: 0, durationMs: 0, closedWith: 'close', error: null, shortened: false };
const socket = {};
let sink = 0;
function empty(a, b) {
  sink += a === b ? 1 : 0;
}
function time(fn) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn(report, socket);
  return Number(process.hrtime.bigint() - start) / calls;
}
const cases = {
  'empty function (baseline)': () => time(empty),
  'publishLingerEnd, no subscriber': () => time(channels.publishLingerEnd),
  'publishHardReset, no subscriber': () => time((r, s) => channels.publishHardReset(s, 3)),
};
console.log(`bench:audit — 1. a publish nobody subscribed to, ${calls.toLocaleString('en-US')} calls per figure, ${rounds} rounds (ns per call, median)\n`);
const perCall = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < rounds; round++) for (const [name, run] of Object.entries(cases)) perCall[name].push(run());
const subscribed = [];
const onMessage = () => (sink += 1);
diagnosticsChannel.subscribe(channels.ChannelNames.lingerEnd, onMessage);
for (let round = 0; round < rounds; round++) subscribed.push(time(channels.publishLingerEnd));
diagnosticsChannel.unsubscribe(channels.ChannelNames.lingerEnd, onMessage);
const baseline = median(perCall['empty function (baseline)']);
for (const [name, values] of Object.entries(perCall)) {
  console.log(`  ${name.padEnd(34)} ${median(values).toFixed(2).padStart(7)} ns   ${(median(values) / baseline).toFixed(2)} × baseline`);
}
console.log(`  ${'publishLingerEnd, one subscriber'.padEnd(34)} ${median(subscribed).toFixed(2).padStart(7)} ns   ${(median(subscribed) / baseline).toFixed(2)} × baseline`);

// ---- 1b. the audit's own work per close, on a live loopback connection ------------------------
// What auditCloses() adds to each close, measured alone (steady, unlike a load on a shared
// machine): the kernel look (one probe: SO_LINGER, TCP_INFO, the queue ioctls) on a real socket.
const net = await import('node:net');
const { look } = require('../../lib/audit/close-look.js');
const { inspectSocket } = require('../../lib/index.js');
const pair = await new Promise((resolve) => {
  let client;
  const listener = net.createServer((accepted) => resolve({ listener, accepted, client }));
  listener.listen(0, '127.0.0.1', () => (client = net.connect(listener.address().port, '127.0.0.1')));
});
const LOOKS = 200_000;
const lookTimes = [];
const inspectTimes = [];
for (let round = 0; round < rounds; round++) {
  let start = process.hrtime.bigint();
  for (let i = 0; i < LOOKS; i++) sink += look(pair.accepted, pair.accepted._handle).queued;
  lookTimes.push(Number(process.hrtime.bigint() - start) / LOOKS);
  start = process.hrtime.bigint();
  for (let i = 0; i < LOOKS; i++) sink += inspectSocket(pair.accepted).fd;
  inspectTimes.push(Number(process.hrtime.bigint() - start) / LOOKS);
}
pair.client.destroy();
pair.accepted.destroy();
pair.listener.close();
const lookNs = median(lookTimes);
console.log(`\nbench:audit — 1b. the audit's look at one close (${LOOKS.toLocaleString('en-US')} looks on a live loopback socket, median of ${rounds})\n`);
console.log(`  look (probe + verdict)            ${(lookNs / 1000).toFixed(2).padStart(7)} µs   ${(lookNs / median(inspectTimes)).toFixed(2)} × inspectSocket() (${(median(inspectTimes) / 1000).toFixed(2)} µs)`);

// ---- 2. Connection: close load ----------------------------------------------------------------
const MODES = ['plain', 'audited', 'subscribed', 'lingering', 'lingering-subscribed'];
const BASELINE = { audited: 'plain', subscribed: 'plain', 'lingering-subscribed': 'lingering' };

const child = spawn(process.execPath, [path.join(here, 'cost-server.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
const ask = async (command) => {
  child.stdin.write(`${command}\n`);
  return (await lines.next()).value;
};
const port = Number((await lines.next()).value);
const stats = async () => JSON.parse(await ask('stats'));
const load = (seconds) =>
  new Promise((resolve, reject) => autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: seconds }, (error, result) => (error ? reject(error) : resolve(result))));

console.log(`\nbench:audit — 2. http, Connection: close on every response; one server process switched between modes; autocannon, ${connections} connections, ${duration} s per run, ${rounds} rounds, order rotating\n`);
for (const mode of MODES) {
  await ask(`mode ${mode}`);
  await load(1); // warm-up, not counted
}
const rps = Object.fromEntries(MODES.map((mode) => [mode, []]));
const cpu = Object.fromEntries(MODES.map((mode) => [mode, []]));
let errors = 0;
let published = 0;
// What each mode must have done to every request it served (a mode whose mechanism did nothing
// would measure as plain): fewest handled per request over the rounds, per mechanism.
const MECHANISMS = {
  plain: [],
  audited: ['audited'],
  subscribed: ['audited', 'published'],
  lingering: ['lingered'],
  'lingering-subscribed': ['lingered', 'published'],
};
const handled = Object.fromEntries(MODES.map((mode) => [mode, Object.fromEntries(MECHANISMS[mode].map((what) => [what, Number.POSITIVE_INFINITY]))]));
for (let round = 0; round < rounds; round++) {
  const order = [...MODES.slice(round % MODES.length), ...MODES.slice(0, round % MODES.length)];
  for (const mode of order) {
    await ask(`mode ${mode}`);
    const before = await stats();
    const result = await load(duration);
    const after = await stats();
    rps[mode].push(result.requests.total / (result.duration || duration));
    cpu[mode].push((after.cpuMicros - before.cpuMicros) / Math.max(1, after.requests - before.requests));
    errors += result.errors + result.timeouts + result.non2xx;
    published += after.published - before.published;
    // Closes of the last requests may still be under way when the run ends (up to one per
    // connection), and a linger's end is published when it ends: those still lingering are not yet.
    for (const what of MECHANISMS[mode]) {
      const served = Math.max(1, after.requests - before.requests - connections - (what === 'published' ? after.lingeringNow : 0));
      handled[mode][what] = Math.min(handled[mode][what], (after[what] - before[what]) / served);
    }
  }
  console.log(`  round ${round + 1}: ${MODES.map((mode) => `${mode} ${rps[mode].at(-1).toFixed(0)} req/s, ${cpu[mode].at(-1).toFixed(0)} µs CPU/req`).join('; ')}`);
}
// Per-round ratios against the baseline, then their median.
const ratio = (series, mode) => median(series[mode].map((value, i) => value / series[BASELINE[mode]][i]));
console.log('\n  mode                   req/s (median)  CPU µs/req  req/s ratio  CPU/req ratio  vs');
for (const mode of MODES) {
  const against = BASELINE[mode];
  const ratios = against ? `${ratio(rps, mode).toFixed(3).padStart(11)}  ${ratio(cpu, mode).toFixed(3).padStart(13)}  ${against}` : '';
  console.log(`  ${mode.padEnd(21)}  ${median(rps[mode]).toFixed(0).padStart(14)}  ${median(cpu[mode]).toFixed(1).padStart(10)}  ${ratios}`);
}
console.log(`\n  the look alone: ${(lookNs / 1000).toFixed(2)} µs per close = ${((lookNs / 1000 / median(cpu.plain)) * 100).toFixed(1)}% of the plain server's CPU per request in this run`);
console.log(`  published to the subscribers: ${published}; load errors in all: ${errors}`);
const shares = Object.entries(handled).flatMap(([mode, counts]) => Object.entries(counts).map(([what, share]) => ({ mode, what, share })));
const idle = shares.filter(({ share }) => !(share >= 1));
const listed = (list) => list.map(({ mode, what, share }) => `${mode} ${what} ${share.toFixed(3)}`).join(', ');
console.log(
  `  handled per request served (fewest in a round; requests less one per connection, and for published less those still lingering): ${listed(shares)}` +
    (idle.length === 0 ? ': every mode\'s mechanism handled every request' : `\n  NOT MEASURED: a mode's mechanism missed requests: ${listed(idle)}`),
);
child.stdin.end();
if (idle.length > 0) process.exitCode = 1;

// ---- 3. instructions per request, plain vs audited ---------------------------------------------
const { hasValgrind } = await import('../core/instructions.mjs');
if (!process.argv.includes('--no-instructions') && !hasValgrind()) {
  console.log('\nbench:audit — 3. instructions per request: skipped (valgrind is not installed; apt-get install valgrind)');
} else if (!process.argv.includes('--no-instructions')) {
  const { execFile } = await import('node:child_process');
  const N1 = 100;
  const N2 = 1100;
  const callgrind = (mode, n) =>
    new Promise((resolve, reject) => {
      execFile(
        'valgrind',
        ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--predictable', path.join(here, 'instructions-probe.cjs'), mode, String(n)],
        { env: { ...process.env, NODE_OPTIONS: '', LD_PRELOAD: '' }, maxBuffer: 16 * 1024 * 1024 },
        (error, _stdout, stderr) => {
          const match = /Collected : (\d+)/.exec(stderr);
          if (error || !match) reject(error ?? new Error(`no callgrind total in: ${stderr.slice(-300)}`));
          else resolve(Number(match[1]));
        },
      );
    });
  const perRequest = async (mode) => {
    const [low, high] = await Promise.all([callgrind(mode, N1), callgrind(mode, N2)]);
    return (high - low) / (N2 - N1);
  };
  console.log(`\nbench:audit — 3. user-space instructions per Connection: close request (client and server in one process), callgrind, n = ${N1} and ${N2}\n`);
  const plain = await perRequest('plain');
  const audited = await perRequest('audited');
  console.log(`  plain    ${Math.round(plain).toLocaleString('en-US').padStart(10)}`);
  console.log(`  audited  ${Math.round(audited).toLocaleString('en-US').padStart(10)}   ${(audited / plain).toFixed(3)} × plain (+${Math.round(audited - plain).toLocaleString('en-US')} per connection)`);
}
if (sink < 0) console.log(sink);
