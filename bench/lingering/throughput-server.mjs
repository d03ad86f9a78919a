// The server bench:linger-throughput loads: an http server answering every request with a short
// body and `Connection: close`, plain (argv[2] = 'plain') or with enableLingeringClose() ('lingering').
// Prints its port; answers "stats" on stdin with its CPU time, requests served and (lingering) the
// lingering-close counters; exits when stdin closes.
import http from 'node:http';
import readline from 'node:readline';

import { enableLingeringClose } from '../../lib/index.mjs';

const mode = process.argv[2];
if (mode !== 'plain' && mode !== 'lingering') {
  console.error('usage: throughput-server.mjs plain|lingering');
  process.exit(2);
}
const body = 'hello, world\n';
let requests = 0;
const server = http.createServer((_req, res) => {
  requests += 1;
  res.writeHead(200, { Connection: 'close', 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
const control = mode === 'lingering' ? enableLingeringClose(server) : null;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stats') {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuMicros: user + system, requests, lingering: control ? control.stats() : null })}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));
