// The server bench:audit loads: an http server answering every request with a short body and
// `Connection: close` (each request a new connection and a server-side close), in one mode:
//   plain        Node alone
//   audited      auditCloses(server): one probe per close, counters
//   subscribed   auditCloses(server) and a subscriber on sockclose:audit:close (a full record per close)
//   lingering    enableLingeringClose(server), nobody subscribed to sockclose:linger:end
//   lingering-subscribed  the same with a subscriber on sockclose:linger:end
// Prints its port; answers "stats" on stdin with its CPU time, requests and the audit's counts.
import diagnosticsChannel from 'node:diagnostics_channel';
import http from 'node:http';
import readline from 'node:readline';

import { auditCloses, ChannelNames, enableLingeringClose } from '../../lib/index.mjs';

export const MODES = ['plain', 'audited', 'subscribed', 'lingering', 'lingering-subscribed'];
const mode = process.argv[2];
if (!MODES.includes(mode)) {
  console.error(`usage: cost-server.mjs ${MODES.join('|')}`);
  process.exit(2);
}
const body = 'hello, world\n';
let requests = 0;
let published = 0;
const server = http.createServer((_req, res) => {
  requests += 1;
  res.writeHead(200, { Connection: 'close', 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
const audit = mode === 'audited' || mode === 'subscribed' ? auditCloses(server) : null;
if (mode === 'subscribed') diagnosticsChannel.subscribe(ChannelNames.auditClose, () => (published += 1));
if (mode.startsWith('lingering')) enableLingeringClose(server);
if (mode === 'lingering-subscribed') diagnosticsChannel.subscribe(ChannelNames.lingerEnd, () => (published += 1));
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stats') {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuMicros: user + system, requests, published, audit: audit ? audit.counts() : null })}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));
