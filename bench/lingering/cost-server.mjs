// The server bench:linger-cost measures: an http server answering every request with a short body
// and `Connection: close`, plain (argv[2] = 'plain') or under enableLingeringClose() ('lingering',
// idle timeout argv[3] ms). Prints its port; answers on stdin:
//   "look"   -> {"cpuMicros", "heapUsed", "lingering"}: CPU time read first, then a full GC, then
//               the heap (so the GC's own CPU is not in the next window's start);
// exits when stdin closes. Run with --expose-gc.
import http from 'node:http';
import readline from 'node:readline';

import { enableLingeringClose } from '../../lib/index.mjs';

const [mode, idle] = [process.argv[2], Number(process.argv[3] ?? 1000)];
if ((mode !== 'plain' && mode !== 'lingering') || typeof globalThis.gc !== 'function') {
  console.error('usage: node --expose-gc cost-server.mjs plain|lingering [idleMs]');
  process.exit(2);
}
const body = 'hello, world\n';
const server = http.createServer((_req, res) => {
  res.writeHead(200, { Connection: 'close', 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
const control = mode === 'lingering' ? enableLingeringClose(server, { idleTimeout: idle, maxLingering: 100_000 }) : null;
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.stdout.write(`${server.address().port}\n`));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'look') return;
  const { user, system } = process.cpuUsage();
  globalThis.gc();
  globalThis.gc();
  const { heapUsed } = process.memoryUsage();
  const lingering = control ? control.stats().lingering : 0;
  process.stdout.write(`${JSON.stringify({ cpuMicros: user + system, heapUsed, lingering })}\n`);
});
process.stdin.on('end', () => process.exit(0));
