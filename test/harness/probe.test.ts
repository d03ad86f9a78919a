// probe(): the one-call client for "how does this server end a connection?".

import { execFile } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { harness } from './load.js';
import { refusingPort } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { Cleanup } from './util.js';

const { createFaultServer, probe } = harness;

/** Runs a command to its end (killed after `timeoutMs`); rejects with its stderr if it failed. */
function run(file: string, args: string[], timeoutMs: number): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout }),
    );
  });
}
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('probe()', () => {
  it('a clean close: outcome fin, bytes both ways, timings in order', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'echo' }));
    const result = await probe('127.0.0.1', server.port, { send: 'hello', shutdown: true });
    expect(result).toMatchObject({ outcome: 'fin', received: 5, sent: 5, connectError: null });
    expect(result.connectMs!).toBeLessThanOrEqual(result.firstByteMs!);
    expect(result.firstByteMs!).toBeLessThanOrEqual(result.endMs!);
    expect(result.endMs!).toBeLessThanOrEqual(result.durationMs);
  });

  it('send: a count of 300 MB arrives whole, written in pieces: the probing process never holds it', async () => {
    // In a process of its own, whose peak memory then says whether the count was ever a buffer.
    const script = `
      const net = require('node:net');
      const { probe } = require(${JSON.stringify(path.join(root, 'lib', 'harness', 'index.js'))});
      let got = 0;
      const server = net.createServer((s) => s.on('data', (c) => (got += c.length)).on('end', () => s.end())).listen(0, '127.0.0.1', async () => {
        const result = await probe('127.0.0.1', server.address().port, { send: 300_000_000, shutdown: true, timeoutMs: 60_000 });
        server.close();
        console.log(JSON.stringify({ outcome: result.outcome, sent: result.sent, got, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
      });`;
    const { stdout } = await run(process.execPath, ['-e', script], 120_000);
    const seen = JSON.parse(stdout) as { outcome: string; sent: number; got: number; maxRssMb: number };
    expect(seen).toMatchObject({ outcome: 'fin', sent: 300_000_000, got: 300_000_000 });
    // A whole buffer would take 300 MB on its own; Node starts at ~45 MB here.
    expect(seen.maxRssMb).toBeLessThan(200);
  }, 150_000);

  it('the seed 004 server: outcome rst, where Node may have reported a clean end', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'close-with-unread' }));
    const result = await probe('127.0.0.1', server.port, { send: 4 });
    expect(result).toMatchObject({ outcome: 'rst', observation: { kernelError: 'ECONNRESET' } });
    // How much arrived before the RST varies from run to run (npm run bench:rst counts it).
  });

  it('FIN then RST: outcome fin-rst (EPIPE)', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'fin-then-reset', responseBytes: 100, awaitRequest: true }));
    expect(await probe('127.0.0.1', server.port, { send: new Uint8Array([1]) })).toMatchObject({
      outcome: 'fin-rst',
      received: 100,
      observation: { kernelError: 'EPIPE' },
    });
  });

  it('a stall: outcome timeout, not before the timeout', async () => {
    const server = cleanup.add(await createFaultServer({ behavior: 'stall' }));
    const result = await probe('127.0.0.1', server.port, { timeoutMs: 200 });
    expect(result).toMatchObject({ outcome: 'timeout', received: 0, endMs: null, observation: { initiator: 'local' } });
    expect(result.durationMs - result.connectMs!).toBeGreaterThanOrEqual(200);
  });

  it('nobody listening: outcome connect-error, ECONNREFUSED', async () => {
    const { port } = cleanup.add(await refusingPort());
    expect(await probe('127.0.0.1', port)).toMatchObject({ outcome: 'connect-error', connectError: 'ECONNREFUSED', connectMs: null });
  });

  it('checks its arguments', async () => {
    // As Node: an empty string is the right type with a bad value; a non-string the wrong type.
    await expect(probe('', 1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' });
    await expect(probe(1 as never, 1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
    await expect(probe('127.0.0.1', 0)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(probe('127.0.0.1', 70000)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(probe('127.0.0.1', 1, { send: -1 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(probe('127.0.0.1', 1, { send: {} as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(probe('127.0.0.1', 1, { timeoutMs: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });
});

describe("probe(): a write the peer's reset made fail", () => {
  it(
    'sent counts what the kernel took, not the failed write Node counts in bytesWritten',
    async () => {
      // The probe's own socket, to read its kernel's count at the moment of the reset.
      let client: net.Socket | undefined;
      const onClient = ({ socket }: { socket: net.Socket }) => (client ??= socket);
      diagnosticsChannel.subscribe('net.client.socket', onClient as (message: unknown) => void);
      cleanup.add({ close: () => diagnosticsChannel.unsubscribe('net.client.socket', onClient as (message: unknown) => void) });
      // A server that never reads: the probe's 64 MiB cannot all fit in the two kernels' buffers.
      const accepted = new Promise<net.Socket>((resolve) => {
        const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, resolve);
        cleanup.add({ close: () => new Promise((done) => server.close(done)) });
        server.listen(0, '127.0.0.1', () => {
          result = probe('127.0.0.1', (server.address() as net.AddressInfo).port, { send: 64 * 1024 * 1024, timeoutMs: 10_000 });
        });
      });
      let result: ReturnType<typeof probe> | undefined;
      const serverSide = await within(accepted, 5000, 'the probe to connect');
      const probing = client!;
      // Stalled: a write in progress that the kernel refuses more of, everything sent acknowledged
      // (so no acknowledgement can free room), the rest waiting for the window.
      await until(
        () => {
          const look = sockclose.inspectSocket(probing);
          return probing.writableLength > 0 && look.unackedBytes === 0 && (look.unsentBytes ?? 0) > 0;
        },
        5000,
        "the probe's write to stall",
      );
      // FIN first: the probe stops reading at EOF, so its write, not a read, meets the reset.
      const eof = nextEvent(probing, 'end', 5000);
      serverSide.end();
      await eof;
      // What the kernel took: acknowledged (less the SYN, which Linux counts), in flight, queued.
      const look = sockclose.inspectSocket(probing);
      const taken = look.tcp!.bytesAcked! - 1 + look.unackedBytes! + look.unsentBytes!;
      // Nothing moves before the reset (no window, nothing unacknowledged): then EPIPE on the write.
      sockclose.hardReset(serverSide);
      const r = await within(result!, 15_000, 'the probe to finish');
      // The write's EPIPE is the reset, which the verdict must not lose.
      expect(r).toMatchObject({ outcome: 'fin-rst', observation: { kernelError: 'EPIPE', node: { error: { code: 'EPIPE' } } } });
      // Node still counts the failed write whole.
      expect(probing.bytesWritten).toBeGreaterThan(taken);
      expect(r.sent).toBe(taken);
    },
    30_000,
  );
});

