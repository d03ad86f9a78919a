// A TLS 1.3 server socket destroyed in the tick its handshake completes (`if (!socket.authorized)
// socket.destroy()` in 'secureConnection'): Node's TLS layer then keeps counting bytes it will never
// write (its session tickets, ~0.5 KB) in its writeQueueSize, although the transport's shutdown has
// gone out. The flush after destroy() waited for that count to reach 0: the close was held to the
// idle timeout and ended with RST, reported as 'idle-timeout', while its peer had answered our FIN
// at once. Once the transport can send nothing more (our FIN is out), there is nothing to flush.
// AF_UNIX, which has no TCP state to say so, was still held (both sides shut: poll()'s POLLHUP).
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, tempDir } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';

const { enableLingeringClose } = sockclose;
const cleanups = cleanupsAfterEach();

// Long: a close held to it fails the test on the report's wait, which is far shorter.
const IDLE = 20_000;

type Report = Parameters<NonNullable<NonNullable<Parameters<typeof enableLingeringClose>[1]>['onReport']>>[0];

describe('a TLS socket destroyed in the tick its handshake completes', () => {
  const destroyers: [string, (socket: tls.TLSSocket) => void][] = [
    ['synchronously', (socket) => void socket.destroy()],
    ['on the next tick', (socket) => process.nextTick(() => socket.destroy())],
  ];
  it.each(destroyers.flatMap(([when, destroy]) => (['tcp', 'unix'] as const).map((transport) => [when, transport, destroy] as const)))(
    "destroyed %s (%s): a peer that answers our FIN ends the linger as 'eof', not at the idle timeout",
    async (_when, transport, destroy) => {
      const { key, cert } = testCert();
      let reported!: (report: Report) => void;
      const report = new Promise<Report>((resolve) => (reported = resolve));
      const server = tls.createServer({ key, cert }, (socket) => {
        socket.on('error', () => {});
        destroy(socket);
      });
      // Aborted first after the test: a close still held would keep the server from closing.
      const shutdown = new AbortController();
      const control = enableLingeringClose(server, { idleTimeout: IDLE, maxTimeout: 2 * IDLE, signal: shutdown.signal, onReport: (r) => reported(r) });
      const dir = tempDir('sockclose-unix-');
      cleanups.add(() => fs.rmSync(dir, { recursive: true, force: true }));
      const file = path.join(dir, 'server.sock');
      await (transport === 'tcp' ? listen(server) : listen(server, { path: file }));
      cleanups.add(() => closeServer(server), control, () => shutdown.abort());
      // Node's client: it ends its side once it has our end (allowHalfOpen off).
      const where = transport === 'tcp' ? { port: portOf(server), host: '127.0.0.1' } : { path: file };
      const client = tls.connect({ ...where, rejectUnauthorized: false });
      cleanups.add(() => void client.destroy());
      client.on('error', () => {});
      client.resume();
      await nextEvent(client, 'end', 5000);
      const r = await within(report, 5000, 'the report (a close held in the flush waits for the idle timeout)');
      expect(r).toMatchObject({ reason: 'eof', closedWith: 'close', error: null });
      expect(r.durationMs).toBeLessThan(IDLE / 4);
      expect(control.stats()).toMatchObject({ lingering: 0, resets: 0 });
    },
  );
});
