// The toxics that shape data rather than end connections (bandwidth, slicer), and taking the whole
// proxy down and up again, on real loopback sockets.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { harness } from './load.js';
import { Cleanup, nextReport } from './util.js';
import { nextEvent, within } from '../helpers/wait.js';

const { createFaultProxy, createFaultServer, observeClose, parseToxic } = harness;
type Proxy = Awaited<ReturnType<typeof createFaultProxy>>;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A server that sends `payload` to every client and closes with FIN. */
async function sender(payload: Buffer): Promise<net.Server & { port: number }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end(payload);
  });
  server.listen(0, '127.0.0.1');
  await nextEvent(server, 'listening');
  cleanup.add({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  return Object.assign(server, { port: (server.address() as net.AddressInfo).port });
}

/** Connects to `port` and collects every read until EOF: the reads' sizes, the bytes, when each came. */
async function readAll(port: number): Promise<{ reads: number[]; data: Buffer; startedMs: number; endMs: number }> {
  const socket = net.connect(port, '127.0.0.1');
  const reads: number[] = [];
  const chunks: Buffer[] = [];
  const startedMs = performance.now();
  socket.on('data', (chunk: Buffer) => {
    reads.push(chunk.length);
    chunks.push(chunk);
  });
  await within(nextEvent(socket, 'end'), 20_000, 'the end of the data');
  socket.destroy();
  return { reads, data: Buffer.concat(chunks), startedMs, endMs: performance.now() };
}

/**
 * The sizes of the proxy's writes to its next client, in order. What the shaping toxics decide is
 * the writes: the client's reads merge those that came back to back (a stall of this process, the
 * proxy's too, delivers all that fell due meanwhile at once: a 450 ms stall at the first read left
 * 2 reads of 50,000 bytes paced at 100 KB/s).
 */
function proxyWrites(proxy: Proxy): number[] {
  const sizes: number[] = [];
  proxy.once('connection', (_id: number, socket: net.Socket) => {
    const write = socket.write.bind(socket) as (chunk: Buffer | string, ...rest: unknown[]) => boolean;
    socket.write = ((chunk: Buffer | string, ...rest: unknown[]) => {
      sizes.push(Buffer.byteLength(chunk));
      return write(chunk, ...rest);
    }) as typeof socket.write;
  });
  return sizes;
}

const sum = (sizes: number[]) => sizes.reduce((total, size) => total + size, 0);

function pattern(size: number): Buffer {
  return Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
}

describe('bandwidth', () => {
  it('50,000 bytes at 100 KB/s: all of them, in order, then the FIN, and no sooner than 500 ms', async () => {
    const payload = pattern(50_000);
    const upstream = await sender(payload);
    const proxy = cleanup.add(await createFaultProxy({ upstream: upstream.port, toxics: [{ type: 'bandwidth', attributes: { rate: 100 } }] }));
    const writes = proxyWrites(proxy);
    const { data, startedMs, endMs } = await readAll(proxy.port);
    expect(data.equals(payload)).toBe(true);
    // A lower bound only (the rate is a ceiling): 50,000 bytes at 100 bytes/ms. Each write is at
    // most 100 ms worth (10,000 bytes), so the bytes went out in several writes.
    expect(endMs - startedMs).toBeGreaterThanOrEqual(495);
    expect(sum(writes)).toBe(50_000);
    expect(Math.max(...writes), JSON.stringify(writes)).toBeLessThanOrEqual(10_000);
  });

  it('upstream too: the server receives the whole request, paced', async () => {
    const received: Buffer[] = [];
    const server = net.createServer((socket) => {
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('end', () => socket.end());
    });
    server.listen(0, '127.0.0.1');
    await nextEvent(server, 'listening');
    cleanup.add({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
    const proxy = cleanup.add(
      await createFaultProxy({ upstream: (server.address() as net.AddressInfo).port, toxics: [{ type: 'bandwidth', stream: 'upstream', attributes: { rate: 10 } }] }),
    );
    const client = net.connect(proxy.port, '127.0.0.1');
    const started = performance.now();
    client.end(pattern(3000));
    client.resume();
    await within(nextEvent(client, 'end'), 10_000, "the server's FIN through the proxy");
    client.destroy();
    expect(Buffer.concat(received).equals(pattern(3000))).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(295); // 3000 bytes at 10 bytes/ms
  });
});

describe('slicer', () => {
  it('200 bytes in 10-byte slices 5 ms apart: written in 20 writes, read in whole slices, every byte in order', async () => {
    const payload = pattern(200);
    const upstream = await sender(payload);
    const proxy = cleanup.add(
      await createFaultProxy({ upstream: upstream.port, toxics: [{ type: 'slicer', attributes: { average_size: 10, delay: 5000 } }] }),
    );
    const writes = proxyWrites(proxy);
    const { data, reads } = await readAll(proxy.port);
    expect(data.equals(payload)).toBe(true);
    // Without the slicer one write of 200 bytes arrives as one read.
    expect(writes).toEqual(Array.from({ length: 20 }, () => 10));
    // Reads may merge slices (a busy client), never split one: each read is a whole number of slices.
    for (const size of reads) expect(size % 10).toBe(0);
  });

  it('size_variation: slices between average - variation and average + variation bytes', async () => {
    const payload = pattern(2000);
    const upstream = await sender(payload);
    const proxy = cleanup.add(
      await createFaultProxy({ upstream: upstream.port, toxics: [{ type: 'slicer', attributes: { average_size: 20, size_variation: 10, delay: 1000 } }] }),
    );
    const writes = proxyWrites(proxy);
    const { data } = await readAll(proxy.port);
    expect(data.equals(payload)).toBe(true);
    // 2,000 bytes in slices of 10 to 30 (the last of what the proxy read at once may be shorter).
    expect(sum(writes)).toBe(2000);
    expect(Math.max(...writes), JSON.stringify(writes)).toBeLessThanOrEqual(30);
    expect(writes.slice(0, -1).filter((size) => size < 10), JSON.stringify(writes)).toEqual([]);
  });

  it('bad attributes are refused, naming them', () => {
    expect(() => parseToxic('slicer')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('average_size') }));
    expect(() => parseToxic('slicer:average_size=10,size_variation=10')).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('size_variation') }),
    );
    expect(() => parseToxic('slicer:average_size=0')).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => parseToxic('bandwidth')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('rate') }));
    expect(() => parseToxic('bandwidth:rate=0')).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(parseToxic('bandwidth/upstream:rate=5')).toMatchObject({ type: 'bandwidth', stream: 'upstream', name: 'bandwidth_upstream', attributes: { rate: 5 } });
    expect(parseToxic('slicer:average_size=8,delay=100')).toMatchObject({ attributes: { average_size: 8, size_variation: 0, delay: 100 } });
  });
});

describe('shaping toxics changed on an open connection', () => {
  // Data already read from the source had its delivery times fixed as it was read (up to 1 MiB
  // ahead): removing the toxic did not speed up the rest of the transfer (15 s for 300 KB at
  // 20 KB/s, whatever the change). Changed toxics now re-time what is queued.
  it.each([
    ['bandwidth removed', { type: 'bandwidth', attributes: { rate: 20 } }, (proxy: Proxy) => proxy.removeToxic('bandwidth_downstream')],
    ['bandwidth raised', { type: 'bandwidth', attributes: { rate: 20 } }, (proxy: Proxy) => void proxy.updateToxic('bandwidth_downstream', { attributes: { rate: 100_000 } })],
    ['slicer removed (all toxics)', { type: 'slicer', attributes: { average_size: 100, delay: 50_000 } }, (proxy: Proxy) => proxy.removeAllToxics()],
  ] as const)('%s: the rest of the data comes at once, in order', async (_label, toxic, change) => {
    const payload = pattern(300_000);
    const upstream = await sender(payload);
    const proxy = cleanup.add(await createFaultProxy({ upstream: upstream.port, toxics: [toxic as never] }));
    const socket = net.connect(proxy.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    cleanup.add({ close: async () => void socket.destroy() });
    // Some of it has come through the toxic: the rest is queued or still in the sender.
    await within(nextEvent(socket, 'data'), 10_000, 'the first bytes');
    change(proxy);
    // Unhealed, the rest would take 15 s (bandwidth) or ~50 s per 100 B (slicer).
    await within(nextEvent(socket, 'end'), 5000, 'the rest of the data once the toxic changed');
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
  });
});

describe('delaying toxics changed on an open connection', () => {
  // latency and slow_close fixed each item's time as it was read, and retime() kept it: removing
  // (or zeroing) the toxic still held the data, or the FIN, for the whole old delay.
  it.each([
    ['latency removed', [{ type: 'latency', attributes: { latency: 60_000 } }], (proxy: Proxy) => proxy.removeToxic('latency_downstream')],
    ['latency set to 0', [{ type: 'latency', attributes: { latency: 60_000 } }], (proxy: Proxy) => void proxy.updateToxic('latency_downstream', { attributes: { latency: 0 } })],
    ['slow_close removed', [{ type: 'slow_close', attributes: { delay: 60_000 } }], (proxy: Proxy) => proxy.removeToxic('slow_close_downstream')],
  ] as const)('%s: what it held comes at once, in order, then the FIN', async (_label, toxics, change) => {
    const payload = pattern(50_000);
    const upstream = await sender(payload);
    // A slow_close (of 0 ms where the test is about latency) says when the upstream's FIN, after
    // all of the data, has been read and queued: 'delay-fin'.
    const marker = toxics[0].type === 'slow_close' ? [] : [{ type: 'slow_close', name: 'marker', attributes: { delay: 0 } }];
    const proxy = cleanup.add(await createFaultProxy({ upstream: upstream.port, toxics: [...toxics, ...marker] as never }));
    const queued = nextEvent<[{ action: string }]>(proxy, 'toxic');
    const socket = net.connect(proxy.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = nextEvent(socket, 'end');
    cleanup.add({ close: async () => void socket.destroy() });
    expect((await within(queued, 10_000, "the upstream's FIN queued in the proxy"))[0].action).toBe('delay-fin');
    change(proxy);
    // Unhealed, the end would take 60 s.
    await within(ended, 5000, 'the data and FIN once the toxic changed');
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
  });
});

describe('disable() / enable(): the proxy down and up again', () => {
  it('down: open connections end, new ones are refused; up: the same port works again, toxics kept', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'echo' }));
    const proxy = cleanup.add(await createFaultProxy({ upstream: server.port, toxics: [{ type: 'latency', attributes: { latency: 1 } }] }));
    const port = proxy.port;
    const open = net.connect(port, '127.0.0.1');
    open.on('error', () => {});
    const closed = observeClose(open);
    await nextEvent(open, 'connect');
    const echoed = nextEvent<[Buffer]>(open, 'data');
    open.write('before');
    expect((await echoed)[0].toString()).toBe('before');

    const report = nextReport<{ endedBy: string }>(proxy);
    await proxy.disable();
    expect(proxy.enabled).toBe(false);
    expect((await report).endedBy).toBe('proxy-down');
    expect((await within(closed, 10_000, 'the open connection to end')).peer).not.toBe('none');
    const refused = net.connect(port, '127.0.0.1');
    const [error] = await nextEvent<[Error & { code?: string }]>(refused, 'error');
    expect(error.code).toBe('ECONNREFUSED');
    await proxy.disable(); // already down: nothing happens

    await proxy.enable();
    expect(proxy.enabled).toBe(true);
    expect(proxy.port).toBe(port);
    expect(proxy.toxics).toMatchObject([{ type: 'latency' }]);
    const again = net.connect(port, '127.0.0.1');
    await nextEvent(again, 'connect');
    const reply = nextEvent<[Buffer]>(again, 'data');
    again.write('after');
    expect((await reply)[0].toString()).toBe('after');
    again.destroy();
  });

  it('enable() after close() is refused: a closed proxy stays closed', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'echo' }));
    const proxy = await createFaultProxy({ upstream: server.port });
    await proxy.disable();
    await proxy.close();
    await expect(proxy.enable()).rejects.toMatchObject({ code: 'ERR_SERVER_NOT_RUNNING' });
    expect(proxy.enabled).toBe(false);
  });
});
