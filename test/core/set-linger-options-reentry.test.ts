// setLinger(socket, n, options): reading `options` runs the caller's code (a getter, a Proxy's
// traps). The fast path had read the socket's descriptor before; if that code destroyed the socket,
// the number was freed and could already name another descriptor, which setsockopt() then changed.
// A socket destroyed meanwhile is refused (ERR_SOCKCLOSE_CLOSED), as it is when destroyed before
// the call, and the descriptor that took its number is left as it was. The options are read once.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, tempDir } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent } from '../helpers/wait.js';

type WithHandle = { _handle: { fd: number } | null };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('setLinger() with options whose reading destroys the socket', () => {
  it('refuses the socket with ERR_SOCKCLOSE_CLOSED and leaves the descriptor that took its number untouched', async () => {
    const listener = await listen(net.createServer((socket) => socket.on('error', () => {})));
    cleanups.push(() => closeServer(listener));
    const dir = tempDir('sockclose-options-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));

    // An AF_UNIX server listens synchronously (its socket exists when listen() returns), so it
    // takes the number the destroyed socket freed: the kernel gives out the lowest free one, and
    // other descriptors opening meanwhile can take it, hence a few bounded attempts.
    let taker: net.Server | undefined;
    let outcome: unknown;
    let reads = 0;
    for (let attempt = 0; attempt < 20 && !taker; attempt++) {
      const socket = net.connect(portOf(listener), '127.0.0.1');
      cleanups.push(() => void socket.destroy());
      await nextEvent(socket, 'connect');
      for (let i = 0; i < 100; i++) sockclose.getLinger(socket); // the fast path, warmed
      const number = (socket as net.Socket & WithHandle)._handle!.fd;
      let server: net.Server | undefined;
      reads = 0;
      const options = {
        get blocking() {
          reads++;
          if (!socket.destroyed) {
            socket.destroy();
            server = net.createServer().listen(path.join(dir, `s${attempt}.sock`));
            cleanups.push(() => closeServer(server!));
          }
          return true;
        },
      };
      try {
        sockclose.setLinger(socket, 5, options);
        outcome = 'returned';
      } catch (error) {
        outcome = (error as NodeJS.ErrnoException).code;
      }
      expect(outcome).toBe('ERR_SOCKCLOSE_CLOSED');
      if ((server as net.Server & WithHandle)._handle?.fd === number) taker = server;
    }
    expect(taker, 'a listener reusing the descriptor number within 20 attempts').toBeDefined();
    expect(reads).toBe(1);
    // Before: SO_LINGER {1, 5} was set on the AF_UNIX listener that took the number.
    const fd = (taker as net.Server & WithHandle)._handle!.fd;
    expect(sockclose.inspectSocket(fd).linger).toEqual({ enabled: false, seconds: 0, emulated: false });
  });
});
