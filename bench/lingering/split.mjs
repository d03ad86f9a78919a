#!/usr/bin/env node
// bench:linger-split — where the lingering close's cost per request goes, for the server
// bench:linger-throughput loads (http, `Connection: close` on every response). Three views:
//
// 1. Syscalls per request, plain and lingering, counted by strace: exact, whatever the load.
// 2. User-space instructions per request, counted by valgrind's callgrind (node --predictable):
//    what JavaScript and native code add, without the kernel, and without the machine's noise.
// 3. Timed: server CPU per request of plain, of plain plus as many getsockopt() calls per request
//    as the lingering close adds syscalls (the calibration), and of lingering, in alternating
//    rounds. Where syscalls are dear (a VM with page-table isolation and no PCID flushes the TLB
//    at each one), the calibration shows how much of the gap the syscall count alone explains.
//
// Views 1 and 2 take each figure as (X(n2) - X(n1)) / (n2 - n1) from two runs that differ only in
// the number of requests, so startup, JIT warm-up and exit cancel out.
//
//   node bench/lingering/split.mjs [--only syscalls|instructions|timed] [--rounds 6] [--duration 3]
// Needs strace and valgrind (apt-get install strace valgrind); a view whose tool is missing says so.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { median } from '../core/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const serverScript = path.join(here, 'throughput-server.mjs');
const clientScript = path.join(here, 'request-client.mjs');

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench:linger-split: ${name} must be a positive integer`);
    process.exit(2);
  }
  return value;
}
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex >= 0 ? process.argv[onlyIndex + 1] : null;
if (only !== null && !['syscalls', 'instructions', 'timed'].includes(only)) {
  console.error('bench:linger-split: --only takes syscalls, instructions or timed');
  process.exit(2);
}
const rounds = option('--rounds', 6);
const duration = option('--duration', 3);
const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const MODES = ['plain', 'lingering'];

/** Starts the server (under `wrapper`, e.g. strace or valgrind, if given). */
function startServer(mode, wrapper = [], extra = []) {
  const [command, ...args] = [...wrapper, process.execPath, ...(wrapper[0] === 'valgrind' ? ['--predictable'] : []), serverScript, mode, ...extra];
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const line = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`bench:linger-split: the ${mode} server ended: ${stderr.slice(-400)}`);
    return value;
  };
  return {
    port: line().then(Number),
    stats: async () => {
      child.stdin.write('stats\n');
      return JSON.parse(await line());
    },
    // Every linger ended (so its syscalls and instructions are in), then exit: stderr holds the
    // tool's summary. Bounded by the lingers' own timeouts (the server's defaults).
    stop: async () => {
      child.stdin.write('drained\n');
      await line();
      child.stdin.end();
      await exited;
      return stderr;
    },
  };
}

function drive(port, count) {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [clientScript, String(port), String(count), '4'], { timeout: 600_000 }, (error) => (error ? reject(error) : resolve())),
  );
}

/**
 * Runs `count` requests against a server of `mode` under `wrapper`; returns the tool's stderr.
 * Checks first that the server answered all `count` requests and, lingering, that each began a
 * lingering close: the client ignores its connections' errors, and a figure per request is only
 * that if every request happened as described.
 */
async function measured(mode, count, wrapper) {
  const server = startServer(mode, wrapper);
  await drive(await server.port, count);
  const stats = await server.stats();
  // 'overload' is no linger at all (the pool was full: closed at once), so it does not count.
  const lingered = stats.lingering
    ? Object.entries(stats.lingering.reasons).reduce((sum, [reason, n]) => (reason === 'overload' ? sum : sum + n), 0) + stats.lingering.lingering
    : 0;
  const stderr = await server.stop();
  if (stats.requests !== count) throw new Error(`bench:linger-split: the ${mode} server answered ${stats.requests} of ${count} requests`);
  if (mode === 'lingering' && lingered < count) throw new Error(`bench:linger-split: only ${lingered} of ${count} connections lingered`);
  return stderr;
}

/** strace -c's table: syscall name -> calls. */
function straceCounts(text) {
  const counts = {};
  for (const line of text.split('\n')) {
    const match = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
    if (match && match[2] !== 'total') counts[match[2]] = Number(match[1]);
  }
  return counts;
}

async function syscalls() {
  const [n1, n2] = [2_000, 6_000];
  console.log(`\n1. Syscalls per request (strace -f -c; (n(${n2}) - n(${n1})) / ${n2 - n1} requests)`);
  if (!has('strace')) {
    console.log('   strace is not installed (apt-get install strace): skipped');
    return null;
  }
  const perRequest = {};
  for (const mode of MODES) {
    const runs = await Promise.all(
      [n1, n2].map(async (count) => {
        const file = path.join(os.tmpdir(), `sockclose-split-${process.pid}-${mode}-${count}.txt`);
        await measured(mode, count, ['strace', '-f', '-c', '-o', file]);
        const counts = straceCounts(readFileSync(file, 'utf8'));
        rmSync(file, { force: true });
        return counts;
      }),
    );
    const names = new Set([...Object.keys(runs[0]), ...Object.keys(runs[1])]);
    perRequest[mode] = Object.fromEntries([...names].map((name) => [name, ((runs[1][name] ?? 0) - (runs[0][name] ?? 0)) / (n2 - n1)]));
  }
  // Every syscall made at least once per 20 requests, the added ones first.
  const shown = [...new Set([...Object.keys(perRequest.plain), ...Object.keys(perRequest.lingering)])]
    .filter((name) => Math.max(Math.abs(perRequest.plain[name] ?? 0), Math.abs(perRequest.lingering[name] ?? 0)) >= 0.05)
    .sort((a, b) => (perRequest.lingering[b] ?? 0) - (perRequest.plain[b] ?? 0) - ((perRequest.lingering[a] ?? 0) - (perRequest.plain[a] ?? 0)));
  console.log('   syscall          plain  lingering   added');
  const total = { plain: 0, lingering: 0 };
  for (const name of shown) {
    const plain = perRequest.plain[name] ?? 0;
    const lingering = perRequest.lingering[name] ?? 0;
    // futex comes from Node's worker threads (the GC's helpers), not from the request path.
    if (name !== 'futex') {
      total.plain += plain;
      total.lingering += lingering;
    }
    console.log(`   ${name.padEnd(14)} ${plain.toFixed(2).padStart(7)} ${lingering.toFixed(2).padStart(10)} ${(lingering - plain).toFixed(2).padStart(7)}`);
  }
  console.log(`   all but futex  ${total.plain.toFixed(2).padStart(7)} ${total.lingering.toFixed(2).padStart(10)} ${(total.lingering - total.plain).toFixed(2).padStart(7)}`);
  return Math.round(total.lingering - total.plain);
}

async function instructions() {
  const [n1, n2] = [6_000, 12_000];
  console.log(`\n2. User-space instructions per request (callgrind, node --predictable; (I(${n2}) - I(${n1})) / ${n2 - n1}; ~4 min)`);
  if (!has('valgrind')) {
    console.log('   valgrind is not installed (apt-get install valgrind): skipped');
    return;
  }
  const perRequest = {};
  for (const mode of MODES) {
    const totals = await Promise.all(
      [n1, n2].map(async (count) => {
        const stderr = await measured(mode, count, ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null']);
        const match = /Collected : (\d+)/.exec(stderr);
        if (!match) throw new Error(`bench:linger-split: no callgrind total in: ${stderr.slice(-400)}`);
        return Number(match[1]);
      }),
    );
    perRequest[mode] = (totals[1] - totals[0]) / (n2 - n1);
  }
  console.log(`   plain ${Math.round(perRequest.plain)}, lingering ${Math.round(perRequest.lingering)}: +${Math.round(perRequest.lingering - perRequest.plain)} (${(perRequest.lingering / perRequest.plain).toFixed(3)}×)`);
}

async function timed(extra, extraMeasured) {
  console.log(`\n3. Timed: server CPU per request (wrk, 20 connections, ${duration} s per run, ${rounds} rounds, order rotating)`);
  if (!extraMeasured) {
    console.log(`   calibration: ${extra} getsockopt per request is NOT measured in this run (view 1 did not run): docs/lingering.md's count; run view 1 for this build's`);
  }
  if (!has('wrk')) {
    console.log('   wrk is not installed (apt-get install wrk): skipped');
    return;
  }
  const pin = has('taskset') && os.availableParallelism() >= 2;
  const wrap = pin ? ['taskset', '-c', String(os.availableParallelism() - 1)] : [];
  const variants = [
    { name: 'plain', mode: 'plain', extra: [] },
    { name: `plain + ${extra} getsockopt`, mode: 'syscalls', extra: [String(extra)] },
    { name: 'lingering', mode: 'lingering', extra: [] },
  ];
  const samples = new Map(variants.map((variant) => [variant.name, []]));
  const servers = variants.map((variant) => ({ variant, server: startServer(variant.mode, wrap, variant.extra) }));
  const load = (port, seconds) =>
    new Promise((resolve, reject) => {
      const args = ['-t1', '-c20', `-d${seconds}s`, `http://127.0.0.1:${port}/`];
      const [command, all] = pin ? ['taskset', ['-c', '0', 'wrk', ...args]] : ['wrk', args];
      execFile(command, all, { timeout: (seconds + 30) * 1000 }, (error) => (error ? reject(error) : resolve()));
    });
  for (const { server } of servers) await load(await server.port, 1);
  for (let round = 0; round < rounds; round++) {
    const order = servers.slice(round % servers.length).concat(servers.slice(0, round % servers.length));
    const line = [];
    for (const { variant, server } of order) {
      const before = await server.stats();
      await load(await server.port, duration);
      const after = await server.stats();
      const cpu = (after.cpuMicros - before.cpuMicros) / Math.max(1, after.requests - before.requests);
      samples.get(variant.name).push(cpu);
      line.push(`${variant.name} ${cpu.toFixed(1)}`);
    }
    console.log(`   round ${round + 1}: ${line.join(', ')} µs`);
  }
  for (const { server } of servers) await server.stop();
  const plain = median(samples.get('plain'));
  for (const { variant } of servers) {
    const value = median(samples.get(variant.name));
    console.log(`   ${variant.name.padEnd(24)} median ${value.toFixed(1).padStart(6)} µs per request  ${(value / plain).toFixed(3)}× plain`);
  }
}

console.log('bench:linger-split — where the lingering close\'s cost per request goes (http, Connection: close)');
// The calibration's count is view 1's measurement; without it, the figure docs/lingering.md gives.
const DOCUMENTED_ADDED = 4;
const measuredAdded = only === null || only === 'syscalls' ? await syscalls() : null;
if (only === null || only === 'instructions') await instructions();
if (only === null || only === 'timed') await timed(measuredAdded ?? DOCUMENTED_ADDED, measuredAdded !== null);
