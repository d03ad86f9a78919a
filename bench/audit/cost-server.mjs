// The server bench:audit loads: an http server answering every request with a short body and
// `Connection: close` (each request a new connection and a server-side close). One process serves
// every mode, switched between runs by "mode <name>" on stdin, so that no mode is measured in a
// luckier or unluckier process than another:
//   plain        Node alone
//   audited      auditCloses(server): one probe per close, counters
//   subscribed   auditCloses(server) and a subscriber on sockclose:audit:close (a full record per close)
//   lingering    enableLingeringClose(server), nobody subscribed to sockclose:linger:end
//   lingering-subscribed  the same with a subscriber on sockclose:linger:end
// (Once an audit has run, `_destroy` stays wrapped: 'plain' then includes the wrapper's WeakMap
// miss per close, as a process where an audit was stopped does.)
// Prints its port; answers "stats" with its CPU time, requests, and how many closes each mechanism
// handled so far (audited: recorded by an audit; lingered: begun by a lingering close; published:
// messages the subscriber received; lingeringNow: lingers not ended yet, whose end is not yet
// published), "mode <name>" with "ok".
import diagnosticsChannel from 'node:diagnostics_channel';
import http from 'node:http';
import readline from 'node:readline';

import { auditCloses, ChannelNames, enableLingeringClose } from '../../lib/index.mjs';

export const MODES = ['plain', 'audited', 'subscribed', 'lingering', 'lingering-subscribed'];
const body = 'hello, world\n';
let requests = 0;
let published = 0;
const server = http.createServer((_req, res) => {
  requests += 1;
  res.writeHead(200, { Connection: 'close', 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
const onPublished = () => (published += 1);
let undo = [];
// Closes handled by the audits and lingering closes of earlier modes, and the current mode's.
let auditedBefore = 0;
let lingeredBefore = 0;
let audit = null;
let lingering = null;
// 'overload' is no linger at all (the pool was full: closed at once), so it does not count.
const begun = (stats) => Object.entries(stats.reasons).reduce((sum, [reason, count]) => (reason === 'overload' ? sum : sum + count), 0) + stats.lingering;
function setMode(mode) {
  for (const step of undo.splice(0)) step();
  if (mode === 'audited' || mode === 'subscribed') {
    audit = auditCloses(server);
    undo.push(() => {
      audit.stop();
      auditedBefore += audit.counts().closed;
      audit = null;
    });
  }
  const channel = mode === 'subscribed' ? ChannelNames.auditClose : mode === 'lingering-subscribed' ? ChannelNames.lingerEnd : null;
  if (channel) {
    diagnosticsChannel.subscribe(channel, onPublished);
    undo.push(() => diagnosticsChannel.unsubscribe(channel, onPublished));
  }
  if (mode.startsWith('lingering')) {
    lingering = enableLingeringClose(server);
    undo.push(() => {
      lingering();
      lingeredBefore += begun(lingering.stats());
      lingering = null;
    });
  }
}
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, argument] = line.trim().split(' ');
  if (command === 'stats') {
    const { user, system } = process.cpuUsage();
    const audited = auditedBefore + (audit ? audit.counts().closed : 0);
    const lingered = lingeredBefore + (lingering ? begun(lingering.stats()) : 0);
    const lingeringNow = lingering ? lingering.stats().lingering : 0;
    process.stdout.write(`${JSON.stringify({ cpuMicros: user + system, requests, published, audited, lingered, lingeringNow })}\n`);
  } else if (command === 'mode' && MODES.includes(argument)) {
    setMode(argument);
    process.stdout.write('ok\n');
  }
});
process.stdin.on('end', () => process.exit(0));
