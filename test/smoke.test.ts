import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { sockclose } from './helpers/sockclose.js';
import { tcpPair } from './helpers/net.js';

describe('the binary under test', () => {
  it('is loaded, and is the one SOCKCLOSE_BINARY names when set (the cmake-js run)', () => {
    const capabilities = sockclose.capabilities();
    expect(capabilities).toMatchObject({ native: true, platform: 'linux', reason: null });
    const expected = process.env.SOCKCLOSE_BINARY
      ? path.resolve(process.env.SOCKCLOSE_BINARY)
      : expect.stringMatching(/build\/Release\/sockclose\.node$/);
    expect(capabilities.binary).toEqual(expected);
  });

  it('reads the fd of a live socket', async () => {
    const { client, server, listener } = await tcpPair();
    expect(sockclose.socketFd(server)).toBeGreaterThan(2);
    client.destroy();
    server.destroy();
    listener.close();
  });
});
