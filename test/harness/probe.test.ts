// probe(): the one-call client for "how does this server end a connection?".

import { execFile } from 'node:child_process';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { harness } from './load.js';
import { refusingPort } from '../helpers/net.js';
import { root } from '../helpers/sockclose.js';
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
    await expect(probe('', 1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(probe('127.0.0.1', 0)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(probe('127.0.0.1', 70000)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(probe('127.0.0.1', 1, { send: -1 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(probe('127.0.0.1', 1, { send: {} as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(probe('127.0.0.1', 1, { timeoutMs: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });
});
