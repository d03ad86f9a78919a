// Undoing lingering close while sockets linger, then enabling it again on the same server
// (docs/lingering.md: `maxLingering` bounds "sockets of the server in any stage"; `drained()`
// resolves "once none of the server's sockets lingers"; undoing lets the closes that began finish
// their bounded linger). The closes still lingering from before the undo are the server's sockets:
// they hold a descriptor each. The new enable ignored them: with maxLingering 4, four lingered from
// the first enable and four more were admitted by the second (8 descriptors at once), and the
// second control's drained() resolved while the first four still lingered.
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { answeringServer } from './answering-server.js';
import { cleanupsAfterEach } from './lifecycle.js';

const { enableLingeringClose } = sockclose;
const cleanups = cleanupsAfterEach();

const MAX = 4;

describe('enabling lingering close again while the closes of the undone one still linger', () => {
  it('maxLingering and drained() count the server sockets still lingering from before the undo', async () => {
    // Every connection is answered and destroyed: it lingers, its peer being silent.
    const server = await answeringServer((close) => cleanups.add(close));
    const clients: net.Socket[] = [];
    cleanups.add(() => clients.forEach((client) => client.destroy()));
    // `count` silent peers (allowHalfOpen: they never answer our FIN); resolves once each has our FIN.
    const connect = (count: number) =>
      within(
        Promise.all(
          Array.from({ length: count }, () => {
            const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
            clients.push(client);
            client.on('error', () => {});
            client.resume();
            return nextEvent(client, 'end', 10_000);
          }),
        ),
        10_000,
        `${count} connections closed by the server`,
      );
    const options = { idleTimeout: 60_000, maxTimeout: 120_000, maxLingering: MAX, shortLingerAbove: MAX };

    const first = enableLingeringClose(server, options);
    cleanups.add(first);
    await connect(MAX);
    await until(() => first.stats().lingering === MAX, 5000, `${MAX} lingering under the first enable`);
    first();

    const second = enableLingeringClose(server, options);
    cleanups.add(second);
    let secondDrainedWith = -1;
    const secondDrained = second.drained().then(() => (secondDrainedWith = first.stats().lingering));
    await connect(MAX);
    // The server's sockets lingering at once: the first enable's still linger (their peers are silent).
    const lingeringNow = first.stats().lingering + second.stats().lingering;
    expect(first.stats().lingering).toBe(MAX);
    expect(lingeringNow, JSON.stringify({ first: first.stats(), second: second.stats() })).toBeLessThanOrEqual(MAX);
    expect(second.stats().reasons.overload).toBe(MAX);
    // Its drained() waits for them too.
    await Promise.resolve();
    expect(secondDrainedWith).toBe(-1);

    // The peers end: every linger ends (eof), and only then is the second control drained.
    clients.forEach((client) => client.end());
    await within(secondDrained, 10_000, "the second control's drained()");
    expect(secondDrainedWith).toBe(0);
    expect(first.stats().reasons.eof).toBe(MAX);
  });
});
