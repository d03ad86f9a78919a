// Two observeClose() calls on one socket (the fault server's own observer, and a test's on the
// socket its 'connection' event hands out): each gets the look right before the descriptor
// really closes, so both tell the same ending, whichever was called first.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { CloseObservation, FaultConnectionReport } from '../../lib/harness/index.js';
import { nextEvent, within } from '../helpers/wait.js';
import { harness } from './load.js';
import { Cleanup, nextReport } from './util.js';

const { createFaultServer, observeClose } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('observeClose: two observers of one socket', () => {
  it("a lingering close: the second observer sees the real close too, and the same verdict as the server's", async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'lingering-close', responseBytes: 1000 }));
    const accepted = nextEvent<[number, net.Socket]>(server, 'connection', 5000);
    const report = nextReport<FaultConnectionReport>(server);
    const client = net.connect(server.port, '127.0.0.1');
    cleanup.add({ close: () => client.destroy() });
    const [, socket] = await accepted;
    // Called after the server's own observer, before anything ended.
    const mine = within(observeClose(socket), 10_000, "the second observer's report");
    client.write('x');
    client.resume();
    const { observation: servers } = await report;
    const second: CloseObservation = await mine;
    expect(servers).toMatchObject({ peer: 'fin', local: 'fin' });
    expect(second.snapshots.map((s) => s.at)).toContain('final');
    expect({ peer: second.peer, local: second.local, initiator: second.initiator }).toEqual({
      peer: servers.peer,
      local: servers.local,
      initiator: servers.initiator,
    });
    // The descriptor closed at the end of the lingering close, for both.
    expect(second.timings.startedAt + second.timings.closeMs).toBeGreaterThanOrEqual(servers.timings.startedAt + servers.timings.closeMs - 1);
  });
});
