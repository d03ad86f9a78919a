// The audit lets go of sockclose:linger:end once nothing needs it: the last awaited report comes
// inside a publish on that very channel (onLingerEnd), and several Node versions' diagnostics_channel
// (18.12, 18.20, 20.9, 22.11 among those tested) remove a subscriber by splicing the array
// publish() iterates: unsubscribing there made the next subscriber, the application's own, miss
// the message. Run on this test's Node and on every cached older Node binary (test:compat's cache).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

/** Cached official Node binaries (scripts/dist/node-binaries.js) whose diagnostics_channel splices during publish. */
function splicingNodes(): string[] {
  const base = process.env.SOCKCLOSE_NODE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'sockclose-node');
  const dir = path.join(base, `linux-${os.arch()}`);
  return ['18.12.0', '18.20.8', '20.9.0', '22.11.0'].map((version) => path.join(dir, version, 'bin', 'node')).filter((node) => fs.existsSync(node));
}

// An audited, lingering net server; its one connection lingers natively (the client holds its half
// open). The audit is stopped meanwhile, then the application subscribes; the client ends the linger.
const script = `
  const diagnosticsChannel = require('node:diagnostics_channel');
  const net = require('node:net');
  const sockclose = require(${JSON.stringify(path.join(root, 'lib', 'index.js'))});
  const timer = setTimeout(() => { process.stdout.write(JSON.stringify({ error: 'timed out' })); process.exit(1); }, 15000);
  const server = net.createServer({ pauseOnConnect: true }, (socket) => { socket.on('error', () => {}); socket.end('bye'); socket.destroySoon(); });
  const audit = sockclose.auditCloses(server);
  const control = sockclose.enableLingeringClose(server, { idleTimeout: 10000 });
  const got = [];
  server.listen(0, '127.0.0.1', () => {
    const client = net.connect({ port: server.address().port, host: '127.0.0.1', allowHalfOpen: true }, () => client.write('unread'));
    client.resume();
    client.on('end', () => {
      // The server's FIN came: its lingering close is under way (native).
      const lingering = control.stats().lingering;
      audit.stop();
      diagnosticsChannel.subscribe(sockclose.ChannelNames.lingerEnd, ({ report }) => got.push(report.reason));
      client.end();
      control.drained().then(() => setImmediate(() => {
        clearTimeout(timer);
        const { reasons } = control.stats();
        process.stdout.write(JSON.stringify({ lingering, ended: reasons.eof, got, closed: audit.counts().closed }));
        server.close();
        control();
      }));
    });
  });`;

describe('the audit leaves sockclose:linger:end without costing other subscribers a message', () => {
  const nodes = [process.execPath, ...splicingNodes()];
  it.each(nodes)('the application subscriber after the audit gets the linger that released it (%s)', (node) => {
    const result = JSON.parse(execFileSync(node, ['-e', script], { encoding: 'utf8', timeout: 30_000 }));
    expect(result).toEqual({ lingering: 1, ended: 1, got: ['eof'], closed: 1 });
  });
});
