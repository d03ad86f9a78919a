// observeClose() of a socket whose close a lingering close took over and the peer's FIN ended
// ('eof'). `timings.closeMs` is when the descriptor closed: the linger's end, long after Node's
// 'close' (emitted once the native lingerer has the descriptor); its published TSDoc said "When Node
// emitted 'close'", off by the whole linger. `bytes.unreadAtClose` is 0 there (the lingerer drained
// every byte the peer sent before its FIN); it said null, which its TSDoc did not explain.
// `bytes.acked` was null after every lingering close: it read only the last look, the linger's
// report, which counts no bytes; the hand-over's look had the count.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';

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

/**
 * One connection: the server writes `response` and closes it with lingeringClose(), observed (with
 * `ackedFirst`, once the client's kernel has acknowledged every byte of it); the client reads to
 * the server's FIN, waits for Node's 'close' of the server socket (the hand-over), then ends with
 * `last` (its FIN, after those bytes). Resolves with the observation and the report.
 */
async function observedLinger(last: Buffer | undefined, response = Buffer.from('hi'), ackedFirst = false) {
  let observed!: ReturnType<typeof harness.observeClose>;
  let lingered!: ReturnType<typeof sockclose.lingeringClose>;
  let nodeClosed!: () => void;
  const closed = new Promise<void>((resolve) => (nodeClosed = resolve));
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    observed = harness.observeClose(socket);
    socket.once('close', () => nodeClosed());
    socket.write(response);
    const close = () => (lingered = sockclose.lingeringClose(socket, { idleTimeout: 5000 }));
    if (!ackedFirst) close();
    else void until(() => sockclose.inspectSocket(socket).unackedBytes === 0, 5000, 'the response acknowledged').then(close);
  });
  await listen(server);
  try {
    const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
    client.resume();
    await within(nextEvent(client, 'end'), 5000, "the server's FIN");
    // The lingerer holds the descriptor now: what we send is drained, never read by Node.
    await within(closed, 5000, "the server socket's 'close'");
    if (last) client.end(last);
    else client.end();
    const report = await within(lingered, 10_000, 'the lingering close');
    return { observation: await within(observed, 10_000, 'the observation'), report };
  } finally {
    await closeServer(server);
  }
}

describe("observeClose() after a lingering close that ended with the peer's FIN", () => {
  it("timings.closeMs is the linger's end, not Node's 'close', and its TSDoc says so", async () => {
    const { observation } = await observedLinger(undefined);
    const nodeClose = observation.events.find((event) => event.event === 'close')!;
    expect(observation.timings.closeMs).toBeGreaterThan(nodeClose.atMs);
    const doc = memberDoc('harness/observe-close.d.ts', 'CloseTimings', 'closeMs');
    expect(doc).not.toMatch(/^When Node emitted `'close'`/);
    expect(doc).toMatch(/lingering close/);
  });

  it('bytes.unreadAtClose is 0, and its TSDoc says what null means', async () => {
    const { observation, report } = await observedLinger(Buffer.alloc(64 * 1024, 1));
    expect({ reason: report.reason, unreadBytes: report.unreadBytes }).toEqual({ reason: 'eof', unreadBytes: 0 });
    expect(observation.bytes.unreadAtClose).toBe(0);
    expect(memberDoc('harness/observe-close.d.ts', 'CloseBytes', 'unreadAtClose')).toMatch(/null/);
  });

  it('bytes.acked is what the peer had acknowledged at the hand-over (a lower bound), not null', async () => {
    // Every byte acknowledged before the close begins: the count at the hand-over is then exact.
    const response = Buffer.from('hello, lingering world');
    const { observation, report } = await observedLinger(undefined, response, true);
    expect(report.reason).toBe('eof');
    expect(observation.bytes).toMatchObject({ sent: response.length, acked: response.length });
    expect(memberDoc('harness/observe-close.d.ts', 'CloseBytes', 'acked')).toMatch(/lower bound/);
  });
});
