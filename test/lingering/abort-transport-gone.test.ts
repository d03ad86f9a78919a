// lingeringClose()'s signal aborting a close whose flush runs after destroy(), in the same tick as
// the connection's descriptor goes (a STARTTLS server destroying the net.Socket under its
// TLSSocket: the TLS handle's fd is -1 from then on). The close ended as a timed-out linger ends,
// whose plain close first turns a positive SO_LINGER off: on fd -1 that call threw a RangeError
// (a SOCKCLOSE_CLOSE_STEP warning), so the close was never counted as ended: the thread's pool
// kept the place for good (`lingeringCloseStats().lingering` 1 from then on: its maxLingering
// shrank by one per such close), and the promise rejected ERR_SOCKCLOSE_CLOSED instead of reporting.
import net from 'node:net';
import tls from 'node:tls';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';

const { lingeringClose, lingeringCloseStats } = sockclose;
const cleanups = cleanupsAfterEach();

const LONG = 20_000;

describe('an abort as the transport under a flushing TLS close goes', () => {
  it('the close is reported and counted as ended, its place given back', async () => {
    const { key, cert } = testCert();
    const secureContext = tls.createSecureContext({ key, cert });
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => void warnings.push(`${warning.code}: ${warning.message}`);
    process.on('warning', onWarning);
    cleanups.add(() => void process.off('warning', onWarning));
    const upgraded = new Promise<{ raw: net.Socket; socket: tls.TLSSocket }>((resolve) => {
      const server = net.createServer((raw) => {
        raw.on('error', () => {});
        // STARTTLS: the application wraps the socket it holds.
        const socket = new tls.TLSSocket(raw, { isServer: true, secureContext });
        socket.on('error', () => {});
        socket.once('secure', () => resolve({ raw, socket }));
      });
      cleanups.add(() => closeServer(server));
      void listen(server).then(() => {
        const client = tls.connect({ port: portOf(server), host: '127.0.0.1', rejectUnauthorized: false });
        cleanups.add(() => void client.destroy());
        client.on('error', () => {});
        // Reads nothing: what we write stays queued, and the flush waits.
        client.once('secureConnect', () => client.pause());
      });
    });
    const { raw, socket } = await within(upgraded, 5000, 'the TLS handshake');
    const before = lingeringCloseStats();
    const controller = new AbortController();
    socket.write(Buffer.alloc(8 * 1024 * 1024));
    const close = lingeringClose(socket, { idleTimeout: LONG, maxTimeout: LONG, signal: controller.signal });
    // The application's own destroy() meanwhile: the close flushes on after it.
    socket.destroy();
    await until(() => lingeringCloseStats().lingering === before.lingering + 1, 5000, 'the close to begin');
    // A later turn of the loop: Node 20 itself crashes (SIGSEGV in TLSWrap, no sockclose needed)
    // when a TLSSocket's write, its transport's destroy() and its own close share one tick.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const closed = nextEvent(socket, 'close', 5000, 'ignore');
    raw.destroy();
    controller.abort();
    const report = await within(close, 5000, 'the report');
    expect(report).toMatchObject({ reason: 'aborted' });
    await closed;
    expect(lingeringCloseStats().lingering).toBe(before.lingering);
    expect(lingeringCloseStats().reasons.aborted).toBe(before.reasons.aborted + 1);
    expect(warnings).toEqual([]);
  });
});
