// Closing many connections from the server side, four ways: destroy(), end(), Node's
// resetAndDestroy(), and sockclose's hardReset(). For each: closes per second (from the first close
// call of a batch to the last 'close' event), CPU per close in the server and in server + peer
// (an RST close does all its teardown in the closer's time, a FIN close leaves part of it to the
// peer), and how many TIME_WAIT sockets the server side keeps (from `ss`, filtered by that mode's
// own listening port; a fresh port per mode, since TIME_WAIT lives 60 s).
//
// The peers run in a child process (bench/core/close-client.mjs). Batches of every mode are
// interleaved in a seeded order, so a burst of load from elsewhere hits every mode alike.
import { execFileSync, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

import { median, pairedDifference, pairedRatio, quantile, seeded, shuffle } from './stats.mjs';
import { within } from './within.mjs';

const require = createRequire(import.meta.url);

/** The server-side ways of closing, in the order the table lists them. */
export const MODES = ['destroy', 'end', 'resetAndDestroy', 'hardReset'];

function closer(sockclose, mode) {
  switch (mode) {
    case 'destroy':
      return (socket) => socket.destroy();
    case 'end':
      return (socket) => socket.end();
    case 'resetAndDestroy':
      return (socket) => socket.resetAndDestroy();
    case 'hardReset':
      return (socket) => sockclose.hardReset(socket);
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

/**
 * Counts `ss` rows by state for sockets whose local port is `port` (the server side); with
 * `peerPorts`, only the connections from those client ports.
 * @param {number} port
 * @param {Set<number>} [peerPorts]
 */
export function serverStates(port, peerPorts) {
  const out = execFileSync('ss', ['-Htan', `( sport = :${port} )`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const states = {};
  for (const line of out.split('\n')) {
    const [state, , , , peer = ''] = line.trim().split(/\s+/);
    if (!state || state === 'LISTEN') continue;
    if (peerPorts && !peerPorts.has(Number(peer.slice(peer.lastIndexOf(':') + 1)))) continue;
    states[state] = (states[state] ?? 0) + 1;
  }
  return states;
}

const CLOSING = ['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'LAST-ACK'];

/**
 * The port's states once no socket is half way through closing (bounded: 2 s). `ss` reads the
 * kernel's socket table in resumable chunks, and other processes' connections changing the same
 * hash buckets meanwhile can make it skip a few rows: the count is the largest of three reads.
 */
async function settledStates(port, peerPorts) {
  const deadline = Date.now() + 2000;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    const states = serverStates(port, peerPorts);
    if (CLOSING.every((state) => !states[state]) || Date.now() > deadline) {
      for (let read = 0; read < 2; read++) {
        for (const [state, count] of Object.entries(serverStates(port, peerPorts))) states[state] = Math.max(states[state] ?? 0, count);
      }
      return states;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function request(child, message, reply) {
  return new Promise((resolve, reject) => {
    const onMessage = (answer) => {
      if (!(reply in answer)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(answer[reply]);
    };
    const onExit = (code) => reject(new Error(`close-client exited with ${code}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(message);
  });
}

/**
 * @param {{ connections?: number, batch?: number, seed?: number, log?: (line: string) => void }} options
 */
export async function closes(options = {}) {
  const { connections = 10_000, batch = 500, seed = Date.now() % 2 ** 31, log = () => {} } = options;
  const sockclose = require('sockclose');
  const random = seeded(seed);
  const child = fork(path.join(import.meta.dirname, 'close-client.mjs'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });

  // One listener per mode: its port identifies that mode's TIME_WAIT sockets.
  const servers = {};
  for (const mode of MODES) {
    const server = net.createServer();
    server.on('connection', (socket) => {
      socket.on('error', () => {}); // a peer's RST after our FIN is not this benchmark's concern
      servers[mode].accepted.push(socket);
      servers[mode].onAccept?.();
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', 511, resolve));
    servers[mode] = { server, port: server.address().port, accepted: [], onAccept: null, samples: [], sync: [], cpu: [], peerCpu: [], totalCpu: [], endings: {}, timeWait: 0 };
  }

  try {
    const rounds = Math.ceil(connections / batch);
    for (let round = 0; round < rounds; round++) {
      const size = Math.min(batch, connections - round * batch);
      for (const mode of shuffle(MODES, random)) {
        const entry = servers[mode];
        entry.accepted = [];
        const allAccepted = new Promise((resolve) => {
          entry.onAccept = () => entry.accepted.length === size && resolve();
        });
        await request(child, { port: entry.port, count: size }, 'connected');
        await within(allAccepted, 30_000, `bench closes: accepting a batch of ${size}`);
        entry.onAccept = null;

        const close = closer(sockclose, mode);
        const sockets = entry.accepted;
        let left = sockets.length;
        const allClosed = new Promise((resolve) => {
          for (const socket of sockets) socket.once('close', () => --left === 0 && resolve());
        });
        const peerPorts = new Set(sockets.map((socket) => socket.remotePort));
        const cpuBefore = process.cpuUsage();
        const start = process.hrtime.bigint();
        for (const socket of sockets) close(socket);
        const calls = Number(process.hrtime.bigint() - start);
        await within(allClosed, 30_000, `bench closes: closing a batch of ${size} (${mode})`);
        const elapsed = Number(process.hrtime.bigint() - start);
        const cpu = process.cpuUsage(cpuBefore);
        entry.samples.push((size / elapsed) * 1e9);
        entry.sync.push(calls / size);
        entry.cpu.push(((cpu.user + cpu.system) * 1000) / size);
        const { cpuMicros, ...endings } = await request(child, { collect: true }, 'endings');
        for (const [how, count] of Object.entries(endings)) entry.endings[how] = (entry.endings[how] ?? 0) + count;
        entry.peerCpu.push((cpuMicros * 1000) / size);
        entry.totalCpu.push(entry.cpu.at(-1) + entry.peerCpu.at(-1));
        // TIME_WAIT this batch left: the server port's TIME-WAIT sockets whose peer is one of this
        // batch's client ports. Counted per batch because a later connection from the same client
        // port legitimately recycles a TIME_WAIT socket (the kernel accepts a SYN on it).
        const states = await settledStates(entry.port, peerPorts);
        entry.timeWait += states['TIME-WAIT'] ?? 0;
      }
      if ((round + 1) % 5 === 0 || round === rounds - 1) log(`  ${(round + 1) * batch} of ${connections} per mode`);
    }
  } finally {
    child.send({ exit: true });
    for (const { server } of Object.values(servers)) server.close();
  }

  const destroy = servers.destroy;
  return {
    seed,
    connections,
    batch,
    // hardReset()'s call against Node's resetAndDestroy(), batch by batch (each pair ran in the
    // same round): the spread says how much of a difference between the two medians is noise.
    hardResetCallVsReset: pairedDifference(servers.hardReset.sync, servers.resetAndDestroy.sync),
    rows: MODES.map((mode) => {
      const entry = servers[mode];
      const states = serverStates(entry.port);
      return {
        mode,
        port: entry.port,
        closesPerSecond: median(entry.samples),
        cpuNsPerClose: median(entry.cpu),
        syncNsPerClose: median(entry.sync),
        syncNsQuartiles: [quantile(entry.sync, 0.25), quantile(entry.sync, 0.75)],
        vsDestroy: pairedRatio(entry.samples, destroy.samples),
        cpuVsDestroy: pairedRatio(entry.cpu, destroy.cpu),
        peerCpuNsPerClose: median(entry.peerCpu),
        totalCpuNsPerClose: median(entry.totalCpu),
        totalCpuVsDestroy: pairedRatio(entry.totalCpu, destroy.totalCpu),
        timeWait: entry.timeWait,
        timeWaitAtEnd: states['TIME-WAIT'] ?? 0,
        otherStates: Object.fromEntries(Object.entries(states).filter(([state]) => state !== 'TIME-WAIT')),
        peerSaw: entry.endings,
      };
    }),
  };
}
