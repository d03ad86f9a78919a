// The server bench:linger-throughput and bench:linger-split load: an http server answering every
// request with a short body and `Connection: close`, plain (argv[2] = 'plain') or with
// enableLingeringClose() ('lingering'; 'as-needed' with its mode 'as-needed', which closes these
// requests, each read whole, without a linger). 'syscalls' is plain plus argv[3] getsockopt(SO_LINGER)
// calls per request, straight through the binding: the calibration that prices a syscall on this
// machine, inside a real server's request path. Prints its port; answers "stats" on stdin with its
// CPU time, requests served and (lingering) the lingering-close counters, and "drained" with
// "drained" once no linger is left; exits when stdin closes.
import http from 'node:http';
import { createRequire } from 'node:module';
import readline from 'node:readline';

import { enableLingeringClose } from '../../lib/index.mjs';

const mode = process.argv[2];
const extraSyscalls = mode === 'syscalls' ? Number(process.argv[3]) : 0;
if (!['plain', 'lingering', 'as-needed', 'syscalls'].includes(mode) || !(Number.isInteger(extraSyscalls) && extraSyscalls >= 0)) {
  console.error('usage: throughput-server.mjs plain|lingering|as-needed|syscalls <count>');
  process.exit(2);
}
const native = extraSyscalls > 0 ? createRequire(import.meta.url)('../../lib/native/binding.js').binding() : null;
const body = 'hello, world\n';
let requests = 0;
const server = http.createServer((req, res) => {
  requests += 1;
  for (let i = 0; i < extraSyscalls; i++) native.getLinger(req.socket._handle.fd);
  res.writeHead(200, { Connection: 'close', 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
const control = mode === 'lingering' || mode === 'as-needed' ? enableLingeringClose(server, { mode: mode === 'as-needed' ? 'as-needed' : 'always' }) : null;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim();
  if (command === 'stats') {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuMicros: user + system, requests, lingering: control ? control.stats() : null })}\n`);
  } else if (command === 'drained') {
    // Once every linger has ended (at once when plain): their syscalls and instructions are in.
    void (control ? control.drained() : Promise.resolve()).then(() => process.stdout.write('drained\n'));
  }
});
process.stdin.on('end', () => process.exit(0));
