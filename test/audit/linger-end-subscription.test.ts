// The audit subscribes to sockclose:linger:end while it watches a server, and while a close it
// recorded still awaits a linger's report. A plain unread-input RST (no lingering close anywhere)
// waits for a report that never comes: once its socket is collected it must stop holding the
// subscription, or every lingering close in the process keeps paying for a subscriber after the
// audit stopped (docs/observability.md: "zero cost while nobody subscribes").
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

describe('review: the audit lets go of sockclose:linger:end', () => {
  it('after stop(), once the sockets of its unread-input RST closes are collected, sockclose:linger:end has no subscriber left', () => {
    const script = `
      const diagnosticsChannel = require('node:diagnostics_channel');
      const net = require('node:net');
      const sockclose = require(${JSON.stringify(path.join(root, 'lib', 'index.js'))});
      const lingerEnd = diagnosticsChannel.channel(sockclose.ChannelNames.lingerEnd);
      const timer = setTimeout(() => { process.stdout.write(JSON.stringify({ error: 'timed out' })); process.exit(1); }, 15000);
      // The seed 004 server: 600,000 bytes written, the client's 4 bytes never read: an RST with input unread.
      const server = net.createServer({ pauseOnConnect: true }, (socket) => {
        socket.on('error', () => {});
        socket.write(Buffer.alloc(600000));
        socket.destroySoon();
      });
      const audit = sockclose.auditCloses(server);
      const during = lingerEnd.hasSubscribers;
      const RUNS = 3;
      let done = 0;
      server.listen(0, '127.0.0.1', function next() {
        const client = net.connect(server.address().port, '127.0.0.1', () => client.write('spam'));
        client.on('error', () => {});
        client.resume();
        client.on('close', () => {
          if (++done < RUNS) return next();
          server.close(async () => {
            const counts = audit.counts();
            audit.stop();
            // Bounded: collect, let finalizers run, look again.
            let after = true;
            for (let round = 0; round < 50 && after; round++) {
              global.gc();
              await new Promise((resolve) => setImmediate(resolve));
              after = lingerEnd.hasSubscribers;
            }
            clearTimeout(timer);
            process.stdout.write(JSON.stringify({ during, unreadResets: counts.unreadResets, after }));
          });
        });
      });`;
    const result = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 30_000 }));
    expect(result).toEqual({ during: true, unreadResets: 3, after: false });
  });
});
