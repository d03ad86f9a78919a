// `sockclose audit -- node server.js` over a server that enables lingering close with its own
// install of sockclose: two copies, the audit's and the application's. The lingering close of the
// application's copy reports after the audit's look; the audit's channel message must say how the
// linger ended the connection (docs/observability.md: "for a connection the lingering close took
// over, when its linger ends, as the linger ended it"), as its counters do, never the unread-input
// RST its look saw before the linger drained that input.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { copyOfPackage } from '../helpers/package-copy.js';
import { root, sockclose } from '../helpers/sockclose.js';

let copyDir: string;
beforeAll(() => {
  // A binary of its own, as a second install has.
  copyDir = copyOfPackage('sockclose-review-audit-', sockclose.capabilities().binary!);
});
afterAll(() => fs.rmSync(copyDir, { recursive: true, force: true }));

const RUNS = 3;

/**
 * The seed 004 server under the application's enableLingeringClose, audited by the other copy
 * (`auditFirst`: its preload loaded before the application's copy, as `sockclose audit` does; else
 * the application's copy first, the audit started later with auditCloses()).
 */
function run(auditFirst: boolean): { seen: unknown[]; counts: Record<string, unknown>; received: number[] } {
  const app = JSON.stringify(path.join(root, 'lib', 'index.js'));
  const other = JSON.stringify(path.join(copyDir, 'lib', 'index.js'));
  const script = `
    const diagnosticsChannel = require('node:diagnostics_channel');
    const net = require('node:net');
    const timer = setTimeout(() => { process.stdout.write(JSON.stringify({ error: 'timed out' })); process.exit(1); }, 20000);
    const seen = [];
    let allSeen;
    const everySeen = new Promise((resolve) => (allSeen = resolve));
    // What a subscriber sees when the message comes (the docs' metrics example reads it there).
    diagnosticsChannel.subscribe('sockclose:audit:close', ({ close }) => {
      seen.push({ end: close.end, cause: close.cause, lingered: close.lingered && close.lingered.reason });
      if (seen.length === ${RUNS}) allSeen();
    });
    // The close waits until the client's 'spam' is in (unread: the server never reads), so the
    // audit's look sees the unread-input RST that the linger then drains. (Looked for on the
    // loop's check phase: the client, in this process, writes it once its own connect completes;
    // the timer above bounds the wait.)
    const { inspectSocket } = require(${app});
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      const close = () => {
        if (!(inspectSocket(socket).unreadBytes > 0)) return setImmediate(close);
        socket.write(Buffer.alloc(600000));
        socket.destroySoon();
      };
      close();
    });
    ${auditFirst ? '' : `const lingering = require(${app}).enableLingeringClose(server);`}
    const audit = require(${other}).auditCloses(server);
    ${auditFirst ? `const lingering = require(${app}).enableLingeringClose(server);` : ''}
    const received = [];
    server.listen(0, '127.0.0.1', function next() {
      let bytes = 0;
      const client = net.connect(server.address().port, '127.0.0.1', () => client.write('spam'));
      client.on('error', () => {});
      client.on('data', (chunk) => (bytes += chunk.length));
      client.on('close', async () => {
        received.push(bytes);
        if (received.length < ${RUNS}) return next();
        await lingering.drained();
        // Every close published (a lingered one right as its descriptor closed, counted first);
        // the timer above fails the run if they never all come.
        await everySeen;
        clearTimeout(timer);
        process.stdout.write(JSON.stringify({ seen, counts: audit.counts(), received }));
        audit.stop();
        server.close();
      });
    });`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 }));
}

describe('review: sockclose:audit:close with the lingering close of another copy of sockclose', () => {
  it.each([
    ['the audit loaded first (sockclose audit over an application with its own sockclose)', true],
    ['the application\'s copy loaded first', false],
  ])('%s: each close published once, as the linger ended it, as the counters say', (_, auditFirst) => {
    const { seen, counts, received } = run(auditFirst);
    expect(received).toEqual(Array(RUNS).fill(600_000));
    expect(counts).toMatchObject({ closed: RUNS, ends: { fin: RUNS, rst: 0 }, unreadResets: 0, lingered: RUNS });
    expect(seen).toEqual(Array(RUNS).fill({ end: 'fin', cause: null, lingered: 'eof' }));
  });
});
