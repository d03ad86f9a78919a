// Every fault-server behaviour against Node's own net client, judged by observeClose(): what Node
// reported ('end' or 'error') and what really happened on the wire (FIN or RST, from the kernel).
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { CloseObservation, FaultConnectionReport, FaultServerOptions } from '../../lib/harness/index.js';
import { harness } from './load.js';
import { expectHiddenResetConsistent, expectNodeReportOfReset } from './node-reports.js';
import { Cleanup, nextReport } from './util.js';
import { within } from '../helpers/wait.js';

const { createFaultServer, observeClose } = harness;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function serve(options: FaultServerOptions) {
  const server = cleanup.add(await createFaultServer(options));
  return { server, report: nextReport<FaultConnectionReport>(server) };
}

/** Connects, lets `drive` talk, reads everything, and resolves with the observation. */
async function client(
  port: number,
  drive: (socket: net.Socket) => void = () => {},
  allowHalfOpen = false,
): Promise<CloseObservation> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen });
  const observed = observeClose(socket);
  drive(socket);
  socket.resume();
  return within(observed, 10_000, 'the client socket to close');
}

const wrote = (data: string | Buffer) => (socket: net.Socket) => socket.once('connect', () => socket.write(data));

describe('fault server, Node net client', () => {
  it('reset-on-accept: the kernel reset it, whether libuv reports it at connect, read or as an end', async () => {
    const { server, report } = await serve({ behavior: 'reset-on-accept' });
    const o = await client(server.port);
    expect(o).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET', initiator: 'peer', bytes: { received: 0 } });
    expectNodeReportOfReset(o);
    expect((await report).observation.local).toBe('rst');
  });

  it('reset-after-bytes: exactly N bytes, then a reset', async () => {
    const { server, report } = await serve({ behavior: 'reset-after-bytes', bytes: 5000, awaitRequest: true });
    const o = await client(server.port, wrote('GET'));
    expect(o).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET', bytes: { received: 5000, sent: 3 } });
    expect(o.timings.connectMs).not.toBeNull();
    expectNodeReportOfReset(o);
    expect((await report).observation).toMatchObject({ local: 'rst', bytes: { acked: 5000 } });
  });

  it('close-with-unread: the response is cut by the RST the unread request caused', async () => {
    const { server, report } = await serve({ behavior: 'close-with-unread' });
    const o = await client(server.port, wrote('ping'));
    expect(o).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    // How much arrived before the RST varies from run to run (npm run bench:rst counts it).
    expectNodeReportOfReset(o);
    expect((await report).observation).toMatchObject({ local: 'rst', bytes: { unreadAtClose: 4 } });
  });

  it('fin-then-reset: Node reports a clean end; the kernel has EPIPE (the FIN came first)', async () => {
    const { server, report } = await serve({ behavior: 'fin-then-reset', responseBytes: 5000, awaitRequest: true });
    const o = await client(server.port, wrote('x'));
    expect(o).toMatchObject({ peer: 'fin-rst', kernelError: 'EPIPE', bytes: { received: 5000 } });
    // Every libuv reads the FIN as EOF before the error, and this client never writes after it.
    expect(o.node).toMatchObject({ sawEnd: true, error: null });
    expect(o.hiddenReset).toBe(true);
    expectHiddenResetConsistent(o);
    expect((await report).observation.local).toBe('fin-rst');
  });

  it('half-close: after the server FIN the client may still send, and the server reads it', async () => {
    const { server, report } = await serve({ behavior: 'half-close', responseBytes: 5000 });
    const o = await client(
      server.port,
      (socket) => {
        socket.once('connect', () => socket.write('ping'));
        socket.once('end', () => socket.end(Buffer.alloc(100)));
      },
      true,
    );
    expect(o).toMatchObject({ initiator: 'peer', peer: 'fin', local: 'fin', kernelError: null, bytes: { received: 5000, sent: 104 } });
    const r = await report;
    expect(r.observation).toMatchObject({ initiator: 'local', peer: 'fin', bytes: { received: 104 } });
  });

  it('slow-close: the server FIN answers ours, not before the delay', async () => {
    const { server, report } = await serve({ behavior: 'slow-close', responseBytes: 100, delayMs: 150 });
    const o = await client(server.port, (socket) => socket.once('connect', () => socket.end('ping')), true);
    expect(o).toMatchObject({ initiator: 'local', peer: 'fin', local: 'fin', bytes: { received: 100 } });
    const order = o.events.map((e) => e.event);
    expect(order.indexOf('finish')).toBeLessThan(order.indexOf('end'));
    // The delay on the server's clock, from the EOF it saw to the FIN it sent.
    const r = await report;
    const eof = r.steps.find((s) => s.step === 'peer-eof')!;
    const fin = r.steps.find((s) => s.step === 'fin')!;
    expect(fin.atMs - eof.atMs).toBeGreaterThanOrEqual(150);
  });

  it('stall: nothing comes; the client times out and closes first', async () => {
    const { server, report } = await serve({ behavior: 'stall' });
    const o = await client(server.port, (socket) => {
      socket.once('connect', () => socket.write('ping'));
      socket.setTimeout(200, () => socket.destroy());
    });
    expect(o).toMatchObject({ initiator: 'local', peer: 'none', local: 'fin', bytes: { received: 0 } });
    await server.close();
    expect((await report).observation).toMatchObject({ local: 'rst', peer: 'fin', bytes: { unreadAtClose: 4 } });
  });

  it('close: a clean end with no byte', async () => {
    const { server, report } = await serve({ behavior: 'close' });
    const o = await client(server.port, wrote('ping'));
    expect(o).toMatchObject({ initiator: 'peer', peer: 'fin', kernelError: null, bytes: { received: 0 } });
    expect((await report).observation).toMatchObject({ local: 'fin', peer: 'fin' });
  });

  it('lingering-close: all 600,000 bytes and a clean end, though the request was never read', async () => {
    const { server, report } = await serve({ behavior: 'lingering-close' });
    const o = await client(server.port, wrote('ping'));
    expect(o).toMatchObject({ peer: 'fin', kernelError: null, hiddenReset: false, bytes: { received: 600_000 } });
    expect((await report).observation.local).toBe('fin');
  });

  it('echo: what was sent comes back', async () => {
    const { server } = await serve({ behavior: 'echo' });
    const o = await client(server.port, (socket) => socket.once('connect', () => socket.end(Buffer.alloc(70_000))), true);
    expect(o).toMatchObject({ peer: 'fin', bytes: { received: 70_000, sent: 70_000 } });
  });

  it('configure(): new connections get the new behaviour', async () => {
    const { server } = await serve({ behavior: 'close' });
    server.configure({ behavior: 'reset-after-bytes', bytes: 10, awaitRequest: true });
    expect(server.settings).toMatchObject({ behavior: 'reset-after-bytes', bytes: 10, responseBytes: 1 << 20 });
    // The listening address cannot move: refused, not ignored.
    expect(() => server.configure({ listen: 0 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('options.listen') }));
    const o = await client(server.port, wrote('x'));
    expect(o).toMatchObject({ peer: 'rst', bytes: { received: 10 } });
  });

  it("configure(): options not given keep their values; a new behaviour takes its own responseBytes, bytes and delayMs", async () => {
    const { server } = await serve({ behavior: 'reset-after-bytes', bytes: 10, responseBytes: 5000, delayMs: 7, timeoutMs: 900 });
    server.configure({ timeoutMs: 800 });
    expect(server.settings).toMatchObject({ behavior: 'reset-after-bytes', bytes: 10, responseBytes: 5000, delayMs: 7, timeoutMs: 800 });
    server.configure({ behavior: 'slow-close' });
    expect(server.settings).toMatchObject({ behavior: 'slow-close', bytes: 16_384, responseBytes: 0, delayMs: 1000, timeoutMs: 800 });
  });
});
