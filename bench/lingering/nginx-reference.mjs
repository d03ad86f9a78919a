#!/usr/bin/env node
// bench:linger-nginx — what nginx's own lingering close costs nginx, as a reference for
// bench:linger-throughput's ratio: one nginx worker answering every request with `Connection: close`
// under `lingering_close on` (its default: it lingers only when the client may still send, so a
// request read whole is closed at once) and under `lingering_close always` (every connection
// lingers until the client's FIN, as sockclose's lingering close does), loaded by Debian's `wrk`.
// wrk, not nginx, is the limit here (nginx is several times cheaper per request than Node), so the
// figure is the worker's CPU time per request (its utime + stime in /proc), not requests/s.
//
// Before measuring, each server's premise is checked on a real connection: after a request read
// whole, once the client has nginx's FIN, `always` still holds the socket (a process owns it in
// `ss`) and `on` has closed it (an orphan). Rounds alternate which mode goes first; the verdict is
// the median of the per-round ratios. No target: a reference figure.
//
//   node bench/lingering/nginx-reference.mjs [--rounds 6] [--duration 5] [--connections 20]
//                                            [--probe-only]
// --probe-only: the premise check alone (needs nginx, not wrk); exit 1 if it fails.
// Exit 2 when nginx (nginx-light) or, unless --probe-only, wrk is not installed.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { median } from '../core/stats.mjs';
import { within } from '../core/within.mjs';

const MODES = ['on', 'always'];
const START_TIMEOUT_MS = 10_000;

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  const value = Number(index >= 0 ? process.argv[index + 1] : fallback);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`bench:linger-nginx: ${name} must be a positive integer`);
    process.exit(2);
  }
  return value;
}
const rounds = option('--rounds', 6);
const duration = option('--duration', 5);
const connections = option('--connections', 20);
const probeOnly = process.argv.includes('--probe-only');

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const nginxPath = ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find((file) => fs.existsSync(file)) ?? (has('nginx') ? 'nginx' : null);
if (nginxPath === null) {
  console.error('bench:linger-nginx: nginx is not installed (apt-get install nginx-light)');
  process.exit(2);
}
if (!probeOnly && !has('wrk')) {
  console.error('bench:linger-nginx: wrk is not installed (apt-get install wrk)');
  process.exit(2);
}

// The worker on the last core, wrk on the first, as bench:linger-throughput pins its servers.
const cores = os.availableParallelism();
const pin = cores >= 2 && has('taskset');
const lastCore = cores - 1;
const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** A port free now (nginx cannot be told to pick one). */
async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether a request to `port` gets an answer: only a worker answers (the master's socket accepts before it forks one). */
function answers(port) {
  const socket = net.connect({ port, host: '127.0.0.1' }, () => socket.write('GET / HTTP/1.0\r\n\r\n'));
  return within(new Promise((resolve) => socket.once('data', () => resolve(true)).once('error', () => resolve(false)).once('end', () => resolve(false))), 1000, 'bench:linger-nginx: an answer')
    .catch(() => false)
    .finally(() => socket.destroy());
}

/** Asks until nginx's worker answers, bounded; fails loudly with nginx's error log if it never does. */
async function waitForAnswer(port, child, errorLog) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`bench:linger-nginx: nginx exited (${child.exitCode}): ${readOr(errorLog)}`);
    if (await answers(port)) return;
    if (Date.now() > deadline) throw new Error(`bench:linger-nginx: nginx did not answer on ${port} within ${START_TIMEOUT_MS} ms: ${readOr(errorLog)}`);
    // Nothing to wait on for another process to listen: retried, backing off, within the deadline.
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, 5 * 2 ** attempt)));
  }
}

function readOr(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim().slice(-400) || '(empty error log)';
  } catch {
    return '(no error log)';
  }
}

/** One nginx (master and one worker) with `lingering_close mode`, in `dir`. */
async function startNginx(mode, dir) {
  const port = await freePort();
  const prefix = path.join(dir, mode);
  fs.mkdirSync(path.join(prefix, 'logs'), { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  const temp = (name) => `${name}_temp_path ${path.join(prefix, name)};`;
  fs.writeFileSync(
    conf,
    [
      'worker_processes 1;',
      // The mask of the last core: "1" then one "0" per lower core.
      pin ? `worker_cpu_affinity 1${'0'.repeat(lastCore)};` : '',
      'daemon off;',
      `pid ${path.join(prefix, 'nginx.pid')};`,
      `error_log ${path.join(prefix, 'logs', 'error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      // No keep-alive: every response says Connection: close and ends its connection.
      '  keepalive_timeout 0;',
      `  lingering_close ${mode};`,
      `  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join(' ')}`,
      `  server { listen 127.0.0.1:${port}; location / { return 200 "hello world\\n"; } }`,
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn(nginxPath, ['-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await waitForAnswer(port, child, path.join(prefix, 'logs', 'error.log')).catch((error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message} ${stderr.trim()}`);
  });
  const worker = workerOf(child.pid);
  return {
    mode,
    port,
    /** The worker's CPU time so far, in µs. */
    cpuMicros: () => {
      // After the command's closing parenthesis: state, ppid, …; utime and stime are fields 14 and 15.
      const stat = fs.readFileSync(`/proc/${worker}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond;
    },
    stop: async () => {
      // SIGTERM: nginx's fast shutdown (SIGQUIT would wait out lingering connections). Bounded:
      // a master that does not end is killed with its worker.
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const pid of [worker, child.pid]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone already
          }
        }
      }, START_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The pid of the master's one worker. */
function workerOf(master) {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === master) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`bench:linger-nginx: nginx ${master} has no worker process`);
}

/**
 * The premise: after a request read whole, once the client has nginx's FIN, does the worker still
 * hold the socket? `ss` lists the server side with its owner (users:) while the worker holds it,
 * and with none once it closed (an orphan finishing its FIN on its own).
 */
async function holdsAfterFin(server) {
  const client = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
  try {
    return await within(seenAfterFin(client, server.port), START_TIMEOUT_MS, `bench:linger-nginx: the premise check on lingering_close ${server.mode}`);
  } finally {
    client.destroy();
  }
}

/** {@link holdsAfterFin}'s steps on `client`: request, read to nginx's FIN, look at the server side. */
async function seenAfterFin(client, port) {
  await once(client, 'connect');
  client.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
  client.resume();
  await once(client, 'end');
  const rows = execFileSync('ss', ['-Htanp', 'state', 'fin-wait-1', 'state', 'fin-wait-2', `( sport = :${port} and dport = :${client.localPort} )`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  client.end();
  await once(client, 'close');
  if (rows.length !== 1) throw new Error(`bench:linger-nginx: expected the server side of one connection in FIN-WAIT in ss, got ${rows.length}: ${rows.join(' | ')}`);
  return rows[0].includes('users:(');
}

/** One wrk run: requests served. */
function load(port, seconds) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`];
  const [command, argv] = pin ? ['taskset', ['-c', '0', 'wrk', ...args]] : ['wrk', args];
  return new Promise((resolve, reject) => {
    execFile(command, argv, { timeout: (seconds + 30) * 1000 }, (error, stdout) => {
      if (error) return reject(error);
      const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
      if (!Number.isInteger(requests) || requests === 0) return reject(new Error(`bench:linger-nginx: no request count in wrk's output: ${stdout.slice(-400)}`));
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
      resolve({ requests, non2xx });
    });
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-nginx-'));
const servers = [];
let failed = false;
// Ctrl-C (or a kill): the nginx processes and their directory go with the bench.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    // nginx's fast shutdown takes its worker with it; a master killed outright would leave the
    // worker running.
    await Promise.all(servers.map((server) => server.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
}
try {
  for (const mode of MODES) servers.push(await startNginx(mode, dir));
  const byMode = Object.fromEntries(servers.map((server) => [server.mode, server]));
  const held = { on: await holdsAfterFin(byMode.on), always: await holdsAfterFin(byMode.always) };
  const premise = !held.on && held.always;
  console.log(
    `premise: after a request read whole and nginx's FIN, lingering_close on ${held.on ? 'still holds the socket' : 'has closed it'}, always ${held.always ? 'still holds it (lingering)' : 'has closed it'}${premise ? '' : ' — NOT as expected'}`,
  );
  if (!premise) failed = true;
  else if (!probeOnly) {
    console.log(
      // nginx -v writes "nginx version: nginx/1.22.1" to stderr.
      `bench:linger-nginx — ${spawnSync(nginxPath, ['-v'], { encoding: 'utf8' }).stderr.trim().replace(/^nginx version: /, '')}, one worker, Connection: close on every response; wrk, ${connections} connections, ${duration} s per run, ${rounds} rounds${pin ? `; worker on core ${lastCore}, wrk on core 0` : ''}\n`,
    );
    console.log('round  order         req/s on  req/s always  worker CPU µs/req on / always  ratio  worker busy on / always');
    for (const server of servers) await load(server.port, 1); // warm-up, not counted
    const ratios = [];
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 ? MODES : [...MODES].reverse();
      const cpu = {};
      const rps = {};
      const busy = {};
      for (const mode of order) {
        const server = byMode[mode];
        const before = server.cpuMicros();
        const { requests, non2xx } = await load(server.port, duration);
        const spent = server.cpuMicros() - before;
        if (non2xx > 0) throw new Error(`bench:linger-nginx: ${non2xx} responses of lingering_close ${mode} were not 200`);
        cpu[mode] = spent / requests;
        rps[mode] = requests / duration;
        busy[mode] = spent / 1e6 / duration;
      }
      const ratio = cpu.always / cpu.on;
      ratios.push(ratio);
      console.log(
        `${String(round).padStart(5)}  ${order.join(' → ').padEnd(12)}  ${rps.on.toFixed(0).padStart(8)}  ${rps.always.toFixed(0).padStart(12)}  ${`${cpu.on.toFixed(1)} / ${cpu.always.toFixed(1)}`.padStart(29)}  ${ratio.toFixed(3)}  ${`${busy.on.toFixed(2)} / ${busy.always.toFixed(2)}`.padStart(23)}`,
      );
    }
    console.log(
      `\nmedian worker CPU per request, lingering_close always / on: ${median(ratios).toFixed(3)} (rounds ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})`,
    );
    console.log("compare: bench:linger-throughput's \"median server CPU per request, lingering / plain\" (sockclose's lingering close against Node's plain close)");
  }
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
}
if (failed) process.exit(1);
