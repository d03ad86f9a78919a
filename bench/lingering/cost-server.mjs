// The server bench:linger-cost measures: an http server answering every request with a short body
// and `Connection: close`, plain (argv[2] = 'plain') or under enableLingeringClose() ('lingering',
// idle timeout argv[3] ms, onTimeout argv[4], 'reset' by default). Prints its port; answers on
// stdin:
//   "look"   -> {"cpuMicros", "heapUsed", "lingering", "ended", "idleTimeouts", "resets"}: a full
//               GC, then the heap; cpuMicros is the process's CPU time less what the looks' own
//               GCs took;
//   "cpu"    -> {"cpuMicros", "lingering", "ended", "idleTimeouts", "resets"}: no GC (the CPU
//               rounds' looks);
//   "drained" -> the same, once no linger is left (control.drained(); at once when plain). One
//               answer, not a poll: each look costs the server CPU (~2 ms measured here: cold
//               code after an idle wait), and polling only the server still lingering charged it
//               with the bench's own work (~14 us per connection at N = 2,000, perf).
// ended: lingering closes ended so far (every reason), idleTimeouts: those the idle timeout ended,
// resets: those closed with RST (all 0 when plain), so that the bench can check its lingering
// server really lingered, and closed as its onTimeout says.
// exits when stdin closes. Run with --expose-gc.
import http from 'node:http';
import readline from 'node:readline';

import { enableLingeringClose } from '../../lib/index.mjs';

const [mode, idle, onTimeout] = [process.argv[2], Number(process.argv[3] ?? 1000), process.argv[4] ?? 'reset'];
if ((mode !== 'plain' && mode !== 'lingering') || (onTimeout !== 'reset' && onTimeout !== 'close') || typeof globalThis.gc !== 'function') {
  console.error('usage: node --expose-gc cost-server.mjs plain|lingering [idleMs] [reset|close]');
  process.exit(2);
}
const body = 'hello, world\n';
const server = http.createServer((_req, res) => {
  res.writeHead(200, { Connection: 'close', 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
const control = mode === 'lingering' ? enableLingeringClose(server, { idleTimeout: idle, maxLingering: 100_000, onTimeout }) : null;
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.stdout.write(`${server.address().port}\n`));
let gcMicros = 0;
const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const counts = () => {
  const stats = control ? control.stats() : null;
  const lingering = stats ? stats.lingering : 0;
  const ended = stats ? Object.values(stats.reasons).reduce((sum, count) => sum + count, 0) : 0;
  const idleTimeouts = stats ? stats.reasons['idle-timeout'] : 0;
  const resets = stats ? stats.resets : 0;
  return { lingering, ended, idleTimeouts, resets };
};
// "cpu" and "drained"'s answer: no GC.
const answerCounts = () => process.stdout.write(`${JSON.stringify({ cpuMicros: cpuNow() - gcMicros, ...counts() })}\n`);
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim();
  if (command === 'cpu') {
    answerCounts();
  } else if (command === 'drained') {
    void (control ? control.drained() : Promise.resolve()).then(answerCounts);
  } else if (command === 'look') {
    const { lingering, ended, idleTimeouts, resets } = counts();
    const before = cpuNow();
    globalThis.gc();
    globalThis.gc();
    const { heapUsed } = process.memoryUsage();
    // The CPU time before this look's GC, less every earlier look's.
    const cpuMicros = before - gcMicros;
    gcMicros += cpuNow() - before;
    process.stdout.write(`${JSON.stringify({ cpuMicros, heapUsed, lingering, ended, idleTimeouts, resets })}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));
