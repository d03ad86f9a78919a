// observeClose()'s `timings.closeMs` on a socket whose close a lingering close took over: the
// descriptor closes when the linger ends, long after Node's 'close' (emitted once the native
// lingerer has the descriptor), and closeMs is that end, as the code says. The published TSDoc
// said "When Node emitted 'close'", which a consumer comparing it with the 'close' event (in
// `events`) found off by the whole linger.
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

describe('observeClose() timings.closeMs under a lingering close', () => {
  it("is the linger's end, not Node's 'close', and its TSDoc says so", async () => {
    let observed!: ReturnType<typeof harness.observeClose>;
    let nodeClosed!: () => void;
    const closed = new Promise<void>((resolve) => (nodeClosed = resolve));
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      observed = harness.observeClose(socket);
      socket.once('close', () => nodeClosed());
      socket.write('hi');
      void sockclose.lingeringClose(socket, { idleTimeout: 5000 });
    });
    await listen(server);
    try {
      const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
      client.resume();
      // The server's FIN: its lingering close flushed, and lingers until ours.
      await within(nextEvent(client, 'end'), 5000, "the server's FIN");
      // Node's 'close' of the server socket comes at the hand-over to the native lingerer, which
      // then waits for our FIN.
      await within(closed, 5000, "the server socket's 'close'");
      client.end();
      const observation = await within(observed, 10_000, 'the observation');
      const nodeClose = observation.events.find((event) => event.event === 'close')!;
      expect(observation.timings.closeMs).toBeGreaterThan(nodeClose.atMs);
    } finally {
      await closeServer(server);
    }
    const doc = memberDoc('harness/observe-close.d.ts', 'CloseTimings', 'closeMs');
    expect(doc).not.toMatch(/^When Node emitted `'close'`/);
    expect(doc).toMatch(/lingering close/);
  });
});
