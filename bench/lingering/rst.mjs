#!/usr/bin/env node
// bench:rst — how often a response is lost to an RST, plain Node against lingering close.
//
// Scenario × server mode (plain Node / lingering close) × judge (Node's own client / a kernel-level
// Python client), N attempts per cell (default 200; `--runs N` or BENCH_RST_RUNS=N). Each cell
// counts clean / ECONNRESET / EPIPE / truncated / no response. Exits 1 if any lingering-close
// attempt was not clean, or if the lingering servers' counters show fewer lingering closes than
// attempts (a scenario plain Node also passes would otherwise pass without any lingering).
//
//   node bench/lingering/rst.mjs [--runs 200] [--only seed004,413-4MB,...] [--json-out file]
// --json-out: also writes {"passed": lingering cells with 0 failures, "failed": the others, ...}
// (the shape .ci/run's steps record).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const CELLS = ['clean', 'ECONNRESET', 'EPIPE', 'truncated', 'no response'];
const MB = 1024 * 1024;
const ATTEMPT_TIMEOUT_MS = 20_000;

function flag(name) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const runs = Number(flag('--runs') ?? process.env.BENCH_RST_RUNS ?? 200);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`bench:rst: --runs must be a positive integer (got ${flag('--runs') ?? process.env.BENCH_RST_RUNS})`);
  process.exit(2);
}

const post = (size) => `POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${size}\r\n\r\n`;
const SCENARIOS = [
  { id: 'seed004', label: 'seed 004: 600,000 B, 4 B unread', kind: 'raw', server: 'seed004', send: 4, expect: 600_000 },
  { id: '413-1MB', label: '413 to a POST of 1 MB', kind: 'http', server: 'http', method: 'POST', body: 1 * MB },
  { id: '413-4MB', label: '413 to a POST of 4 MB', kind: 'http', server: 'http', method: 'POST', body: 4 * MB },
  { id: '413-16MB', label: '413 to a POST of 16 MB', kind: 'http', server: 'http', method: 'POST', body: 16 * MB },
  { id: 'close-get', label: 'Connection: close, GET + 1 MB body', kind: 'http', server: 'http', method: 'GET', body: 1 * MB },
];
const only = flag('--only')?.split(',');
const scenarios = only ? SCENARIOS.filter((scenario) => only.includes(scenario.id)) : SCENARIOS;

/**
 * A line-oriented child process: send a line, read the next line. A child that exits, or cannot be
 * started, fails every read still waiting and every later one: a crashed judge or server ends the
 * bench with its name instead of leaving it waiting for a line that never comes.
 */
function lineChild(command, args) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  let gone = null;
  const fail = (error) => {
    gone ??= error;
    for (const { reject } of waiters.splice(0)) reject(gone);
  };
  child.on('error', (error) => fail(new Error(`bench:rst: ${command} could not run: ${error.message}`)));
  child.stdin.on('error', () => {}); // EPIPE once it is gone: reported by the read that follows
  const output = readline.createInterface({ input: child.stdout });
  output.on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(line);
    else lines.push(line);
  });
  // stdout ends after the child's last line has been delivered; then say how it ended.
  const name = path.basename(args.at(-1) ?? command);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)));
  output.on('close', () => void exited.then((how) => fail(new Error(`bench:rst: ${name} exited (${how}) before answering`))));
  return {
    child,
    next: () => {
      if (lines.length) return Promise.resolve(lines.shift());
      if (gone) return Promise.reject(gone);
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    send: (line) => child.stdin.write(`${line}\n`),
    close: () => child.stdin.end(),
  };
}

function classify(complete, received, errors) {
  if (!complete) return received > 0 ? 'truncated' : 'no response';
  if (errors.includes('ECONNRESET')) return 'ECONNRESET';
  if (errors.includes('EPIPE')) return 'EPIPE';
  return errors.length ? 'ECONNRESET' : 'clean';
}

/** Node's net client: send the unread bytes, read to the end. */
function nodeRawAttempt(port, scenario) {
  return new Promise((resolve) => {
    const errors = [];
    let received = 0;
    const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.alloc(scenario.send, 'x')));
    const timer = setTimeout(() => {
      errors.push('timeout');
      socket.destroy();
    }, ATTEMPT_TIMEOUT_MS);
    socket.on('data', (chunk) => (received += chunk.length));
    socket.on('error', (error) => errors.push(error.code ?? error.message));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ cell: classify(received === scenario.expect, received, errors), received, errors });
    });
  });
}

/** Node's http client, a fresh connection per request. */
function nodeHttpAttempt(port, scenario, body) {
  return new Promise((resolve) => {
    const errors = [];
    let received = 0;
    let complete = false;
    let requestClosed = false;
    let response = null;
    let responseClosed = false;
    const req = http.request({
      port,
      host: '127.0.0.1',
      method: scenario.method,
      path: scenario.method === 'POST' ? '/upload' : '/',
      agent: false,
      headers: { 'Content-Length': body.length },
    });
    const timer = setTimeout(() => {
      errors.push('timeout');
      req.destroy();
      response?.destroy();
    }, ATTEMPT_TIMEOUT_MS);
    // Settles once the request and (if one came) the response are both closed.
    const settle = () => {
      if (!requestClosed || (response && !responseClosed)) return;
      clearTimeout(timer);
      resolve({ cell: classify(complete, received, errors), received, errors });
    };
    req.on('response', (res) => {
      response = res;
      received += 1; // the status line arrived
      res.on('data', (chunk) => (received += chunk.length));
      res.on('end', () => (complete = res.complete));
      res.on('error', (error) => errors.push(error.code ?? error.message));
      res.on('close', () => {
        responseClosed = true;
        settle();
      });
    });
    req.on('error', (error) => errors.push(error.code ?? error.message));
    req.on('close', () => {
      requestClosed = true;
      settle();
    });
    req.end(body);
  });
}

async function nodeJudge(port, scenario) {
  const cells = Object.fromEntries(CELLS.map((cell) => [cell, 0]));
  const body = scenario.kind === 'http' ? Buffer.alloc(scenario.body, 'b') : null;
  let example = null;
  for (let run = 0; run < runs; run++) {
    const outcome = scenario.kind === 'raw' ? await nodeRawAttempt(port, scenario) : await nodeHttpAttempt(port, scenario, body);
    cells[outcome.cell] += 1;
    if (outcome.cell !== 'clean' && !example) example = outcome;
  }
  return { cells, example };
}

let jobId = 0;
async function kernelJudge(judge, port, scenario) {
  const job = { id: ++jobId, port, runs, kind: scenario.kind };
  if (scenario.kind === 'raw') Object.assign(job, { send: scenario.send, expect: scenario.expect });
  else {
    const head =
      scenario.method === 'POST'
        ? post(scenario.body)
        : `GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${scenario.body}\r\n\r\n`;
    Object.assign(job, { head, body: scenario.body });
  }
  judge.send(JSON.stringify(job));
  const reply = JSON.parse(await judge.next());
  return { cells: reply.cells, example: reply.example };
}

function table(rows) {
  const header = ['scenario', 'server', 'judge', ...CELLS];
  const body = rows.map((row) => [row.scenario, row.mode, row.judge, ...CELLS.map((cell) => String(row.cells[cell]))]);
  const widths = header.map((title, index) => Math.max(title.length, ...body.map((line) => line[index].length)));
  const format = (line) => line.map((text, index) => (index < 3 ? text.padEnd(widths[index]) : text.padStart(widths[index]))).join('  ');
  return [format(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(format)].join('\n');
}

const started = performance.now();
const servers = lineChild(process.execPath, [path.join(here, 'rst-servers.mjs')]);
const ports = JSON.parse(await servers.next());
const judge = lineChild('python3', ['-u', path.join(here, 'kernel_judge.py')]);

const rows = [];
const total = scenarios.length * 4;
for (const scenario of scenarios) {
  for (const mode of ['plain', 'lingering']) {
    const port = ports[mode][scenario.server];
    for (const judgeName of ['node', 'kernel']) {
      const cellStarted = performance.now();
      const result = judgeName === 'node' ? await nodeJudge(port, scenario) : await kernelJudge(judge, port, scenario);
      rows.push({ scenario: scenario.label, mode, judge: judgeName, ...result });
      const seconds = ((performance.now() - cellStarted) / 1000).toFixed(1);
      process.stderr.write(`[${rows.length}/${total}] ${scenario.id} ${mode} ${judgeName}: ${JSON.stringify(result.cells)} (${seconds} s)\n`);
    }
  }
}

servers.send('stats');
const stats = JSON.parse(await servers.next());
servers.close();
judge.close();

console.log(`\nbench:rst — ${runs} attempts per cell; judge node = Node's net/http client, kernel = Python recv()/send()\n`);
console.log(table(rows));
console.log('\nFirst non-clean attempt per cell (plain Node):');
for (const row of rows.filter((row) => row.mode === 'plain' && row.example)) {
  console.log(`  ${row.scenario} / ${row.judge}: ${JSON.stringify(row.example)}`);
}
for (const [name, value] of Object.entries(stats)) {
  console.log(`lingering ${name} server: ends ${JSON.stringify(value.reasons)}, drained ${value.drainedBytes} B, peak ${value.peakLingering} lingering`);
}
const lingeringRows = rows.filter((row) => row.mode === 'lingering');
const failures = lingeringRows.reduce((sum, row) => sum + runs - row.cells.clean, 0);
const unlingered = new Set();
let notLingered = 0;
// The lingering rows prove something only if their connections were closed by the lingering close:
// each attempt on a lingering server is one connection the server closes, so each must have
// lingered (a scenario plain Node also passes would pass with no lingering at all).
for (const [name, value] of Object.entries(stats)) {
  const attempts = scenarios.filter((scenario) => scenario.server === name).length * 2 * runs;
  // 'overload' is no linger at all (the pool was full: closed at once), so it does not count.
  const lingered = Object.entries(value.reasons).reduce((sum, [reason, count]) => (reason === 'overload' ? sum : sum + count), 0) + value.lingering;
  if (lingered < attempts) {
    console.log(`lingering ${name} server: only ${lingered} of its ${attempts} connections lingered: its rows do not measure the lingering close`);
    notLingered += attempts - lingered;
    unlingered.add(name);
  }
}
const runtime = (performance.now() - started) / 1000;
console.log(`\nlingering close: ${failures} failure(s) in ${lingeringRows.length * runs} attempts${notLingered ? `; ${notLingered} of them not closed by the lingering close (failed)` : ''}`);
console.log(`runtime: ${runtime.toFixed(1)} s`);
const jsonOut = flag('--json-out');
if (jsonOut) {
  const serverOf = (row) => scenarios.find((scenario) => scenario.label === row.scenario).server;
  const failedCells = lingeringRows.filter((row) => row.cells.clean !== runs || unlingered.has(serverOf(row))).length;
  writeFileSync(
    jsonOut,
    `${JSON.stringify({ passed: lingeringRows.length - failedCells, failed: failedCells, runs, runtimeSeconds: Number(runtime.toFixed(1)), rows: rows.map(({ example, ...row }) => row) })}\n`,
  );
}
process.exit(failures === 0 && notLingered === 0 ? 0 : 1);
