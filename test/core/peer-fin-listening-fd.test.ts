// peerFinReceived from the TCP state, a descriptor number's too: a listening
// descriptor has no peer, so no FIN to tell of: null, as before, never a "no FIN yet".
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';

const servers: net.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await closeServer(server);
});

describe("inspectSocket(): the peer's FIN of a listening descriptor", () => {
  it('is null: a listener has no peer', async () => {
    const server = await listen(net.createServer());
    servers.push(server);
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    expect(sockclose.inspectSocket(fd)).toMatchObject({ state: 'LISTEN', peerFinReceived: null });
  });
});
