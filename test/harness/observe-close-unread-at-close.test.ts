// observeClose()'s `bytes.unreadAtClose` for a socket whose close a lingering close took over and
// the peer's FIN ended ('eof'): the lingerer drained every byte the peer sent before its FIN, so 0
// were unread when the descriptor closed. It said null, which its TSDoc did not explain (null read
// as "unknown" to a consumer, or as a missing look).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { nextEvent, within } from '../helpers/wait.js';

const require = createRequire(import.meta.url);
const harness = require(path.join(root, 'lib', 'harness', 'index.js')) as typeof import('../../lib/harness/index.js');

/** The TSDoc of `name` in the interface `owner` of a published declaration file. */
function memberDoc(file: string, owner: string, name: string): string {
  const source = fs.readFileSync(path.join(root, 'lib', file), 'utf8');
  const body = source.slice(source.indexOf(`export interface ${owner} {`));
  const match = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*${name}:`).exec(body.slice(0, body.indexOf('\n}')));
  if (!match) throw new Error(`no doc for ${owner}.${name} in ${file}`);
  return match[1]!.replace(/\s*\*\s*/g, ' ').trim();
}

describe("observeClose() bytes.unreadAtClose after a lingering close that ended with the peer's FIN", () => {
  it('is 0, and its TSDoc says what null means', async () => {
    let observed!: ReturnType<typeof harness.observeClose>;
    let lingered!: ReturnType<typeof sockclose.lingeringClose>;
    let nodeClosed!: () => void;
    const closed = new Promise<void>((resolve) => (nodeClosed = resolve));
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      observed = harness.observeClose(socket);
      socket.once('close', () => nodeClosed());
      socket.write('hi');
      lingered = sockclose.lingeringClose(socket, { idleTimeout: 5000 });
    });
    await listen(server);
    try {
      const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
      client.resume();
      await within(nextEvent(client, 'end'), 5000, "the server's FIN");
      // The lingerer holds the descriptor now: what we send is drained, never read by Node.
      await within(closed, 5000, "the server socket's 'close'");
      client.end(Buffer.alloc(64 * 1024, 1));
      const report = await within(lingered, 10_000, 'the lingering close');
      expect({ reason: report.reason, unreadBytes: report.unreadBytes }).toEqual({ reason: 'eof', unreadBytes: 0 });
      const observation = await within(observed, 10_000, 'the observation');
      expect(observation.bytes.unreadAtClose).toBe(0);
    } finally {
      await closeServer(server);
    }
    expect(memberDoc('harness/observe-close.d.ts', 'CloseBytes', 'unreadAtClose')).toMatch(/null/);
  });
});
