// A client that resets before the behaviour's first step (reset-after-bytes writes; Node's write
// fails and destroys the socket): docs/harness.md's table says "a peer that has reset first gets
// none, and the report says 'peer-left'". Before the fix the report ended on the wait's
// `result: 'closed'` alone, the same as a server.close(), with no 'peer-left' step.
import net from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { FaultConnectionReport } from '../../lib/harness/index.js';
import { KernelPeer } from '../lingering/kernel-peer.js';
import { sockclose } from '../helpers/sockclose.js';
import { untilSync } from '../helpers/wait.js';
import { harness } from './load.js';
import { Cleanup, nextReport } from './util.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
let peer: KernelPeer;
beforeAll(() => {
  peer = new KernelPeer();
});
afterAll(() => peer.close());

describe('fault server: a client that reset before the behaviour started', () => {
  it('reset-after-bytes: the report says peer-left (the RST never goes out)', async () => {
    const server = cleanup.add(await harness.createFaultServer({ behavior: 'reset-after-bytes', timeoutMs: 60_000 }));
    const report = nextReport<FaultConnectionReport>(server);
    // The behaviour starts once this listener returns: hold it until the client's RST is in the
    // accepted socket's kernel state (another process sends it), so the behaviour's write meets it.
    server.once('connection', (_id: number, socket: net.Socket) => {
      untilSync(
        () => {
          const { pendingError, state } = sockclose.inspectSocket(socket);
          return pendingError !== null || state === 'CLOSE';
        },
        5000,
        "the client's reset to reach the accepted socket",
      );
    });
    await peer.run({ port: server.port, steps: [{ reset: true }], timeoutMs: 5000 });
    const r = await report;
    expect(r.observation).toMatchObject({ peer: 'rst', local: 'none' });
    const names = r.steps.map((s) => s.step);
    expect(names).not.toContain('reset');
    expect(names.at(-1)).toBe('peer-left');
    expect(r.steps.at(-1)!.detail).toMatchObject({ end: 'rst' });
  });
});
