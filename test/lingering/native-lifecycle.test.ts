// The native lingerer's lifecycle: a worker terminated (or exiting) while its connections linger
// closes them all; process.exit() mid-linger is clean; dup() failing with EMFILE falls back to an
// immediate close and is counted; the process stays alive while anything lingers, as long as the
// caps allow.
import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { openSockets, socketsOpenedSince, ssByPort } from '../helpers/net.js';
import { root } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { kernelPeerForFile } from './lifecycle.js';

const peer = kernelPeerForFile();
const fixture = (name: string) => path.join(root, 'test', 'lingering', 'fixtures', name);

/** A worker running fixtures/lingering-worker.cjs, and a way to ask for its lingering count. */
async function lingeringWorker(onTimeout?: 'reset' | 'close') {
  const worker = new Worker(fixture('lingering-worker.cjs'), { workerData: { onTimeout } });
  const messages: Record<string, number>[] = [];
  const waiters: (() => void)[] = [];
  worker.on('message', (message: Record<string, number>) => {
    messages.push(message);
    waiters.splice(0).forEach((wake) => wake());
  });
  const next = async (key: string) => {
    for (;;) {
      const index = messages.findIndex((message) => key in message);
      if (index >= 0) return messages.splice(index, 1)[0]![key]!;
      await within(new Promise<void>((resolve) => waiters.push(resolve)), 20_000, `the worker's ${key}`);
    }
  };
  const port = await next('port');
  return { worker, port, lingering: async () => (worker.postMessage('stats'), next('lingering')) };
}

describe('native lingerer lifecycle', () => {
  it('a worker terminated with 100 sockets lingering closes every one of them', async () => {
    const before = openSockets();
    const { worker, port, lingering } = await lingeringWorker();
    const held = await peer.hold(port, 100, 0);
    expect(held.ends).toEqual({ eof: 100, open: 0 });
    await until(async () => (await lingering()) === 100, 20_000, '100 sockets lingering in the worker');
    // The worker's listener and its 100 lingering descriptors (Node let go of its own copies).
    expect(socketsOpenedSince(before).length).toBe(101);
    const exited = nextEvent<[number]>(worker, 'exit', 20_000);
    await worker.terminate();
    await exited;
    await until(() => socketsOpenedSince(before).length === 0, 10_000, "the worker's descriptors to be closed");
    await held.release();
  });

  // A termination cuts every linger short, as an aborted one: RST under onTimeout 'reset' (the
  // default), so nothing is left in the kernel; under 'close', FIN-WAIT-2 orphans until the kernel's
  // own timeout (the held peer never sends its FIN).
  for (const onTimeout of ['reset', 'close'] as const) {
    it(`a worker terminated mid-linger closes as onTimeout '${onTimeout}' says`, async () => {
      const before = openSockets();
      const { worker, port, lingering } = await lingeringWorker(onTimeout);
      const held = await peer.hold(port, 20, 0);
      try {
        await until(async () => (await lingering()) === 20, 20_000, '20 sockets lingering in the worker');
        const exited = nextEvent<[number]>(worker, 'exit', 20_000);
        await worker.terminate();
        await exited;
        await until(() => socketsOpenedSince(before).length === 0, 10_000, "the worker's descriptors to be closed");
        const serverSide = ssByPort(port).filter((row) => row.localPort === port);
        if (onTimeout === 'reset') expect(serverSide).toEqual([]);
        else expect(serverSide.filter((row) => row.state.startsWith('FIN-WAIT-')).length).toBe(20);
      } finally {
        await held.release();
      }
    });
  }

  it("a worker calling process.exit() mid-linger exits with its code, its lingering descriptors closed", async () => {
    const before = openSockets();
    const { worker, port, lingering } = await lingeringWorker();
    const held = await peer.hold(port, 20, 0);
    await until(async () => (await lingering()) === 20, 20_000, '20 sockets lingering in the worker');
    const exited = nextEvent<[number]>(worker, 'exit', 20_000);
    worker.postMessage('exit');
    expect((await exited)[0]).toBe(7);
    await until(() => socketsOpenedSince(before).length === 0, 10_000, "the worker's descriptors to be closed");
    await held.release();
  });

  it('process.exit() while 50 connections linger is clean', async () => {
    // Its exit code is asserted on every path: a run that exited 0 resolves, and would skip a
    // check made only where execFile rejects.
    const { code, stdout, stderr } = await promisify(execFile)(process.execPath, [fixture('exit-mid-linger.cjs'), '50'], { timeout: 30_000 }).then(
      (result) => ({ ...result, code: 0 as number | string | undefined }),
      (error: { code?: number | string; stdout: string; stderr: string }) => error,
    );
    expect(code).toBe(3);
    expect(stdout.trim()).toBe('lingering 50');
    expect(stderr).toBe('');
  });

  // Without NODE_EXTRA_CA_CERTS (some machines set it): Node 22 may load that file while the
  // fixture holds every descriptor, and warns on stderr that it could not (seen once in CI).
  function emfile(mode: 'dup' | 'first') {
    const { NODE_EXTRA_CA_CERTS: _extraCerts, ...env } = process.env;
    const result = spawnSync('bash', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${fixture('emfile.cjs')}" ${mode}`], {
      encoding: 'utf8',
      timeout: 30_000,
      env,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    return JSON.parse(result.stdout) as {
      report: { reason: string; code: string; syscall: string; closedWith: string };
      stats: { lingering: number; reasons: Record<string, number> };
      prepareCall: string;
    };
  }

  it('dup() failing with EMFILE: the connection closes at once, reported as overload with the error, counted', () => {
    const { report, stats } = emfile('dup');
    expect(report).toEqual({ reason: 'overload', code: 'EMFILE', syscall: 'dup', closedWith: 'close' });
    expect(stats.lingering).toBe(0);
    expect(stats.reasons).toMatchObject({ eof: 1, overload: 1 });
  });

  it("no descriptor at the thread's first hand-over: the report names the call that failed (the poller's own, where it makes one)", () => {
    const { report, stats, prepareCall } = emfile('first');
    // epoll's lingerer makes its descriptor at the first hand-over, before dup(); libuv's makes none.
    expect(report).toEqual({ reason: 'overload', code: 'EMFILE', syscall: prepareCall || 'dup', closedWith: 'close' });
    expect(stats.lingering).toBe(0);
    expect(stats.reasons.overload).toBe(1);
  });

  it('the process stays alive while a connection lingers, and exits once the linger ends', async () => {
    // A script whose only pending work is one linger: it must not exit before the report.
    const script = `
      const net = require('node:net');
      const { lingeringClose } = require(${JSON.stringify(path.join(root, 'lib', 'index.js'))});
      const server = net.createServer((socket) => {
        socket.write('hello');
        lingeringClose(socket, { idleTimeout: 300 }).then((r) => console.log('report', r.reason));
        server.close();
      });
      server.listen(0, '127.0.0.1', () => {
        // The client never sends its FIN: the linger ends at the idle timeout.
        const client = net.connect({ port: server.address().port, host: '127.0.0.1', allowHalfOpen: true });
        client.on('end', () => client.unref());
        client.resume();
      });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { timeout: 30_000 });
    expect(stdout.trim()).toBe('report idle-timeout');
  });
});

