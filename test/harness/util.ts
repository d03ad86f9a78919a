// Small helpers for the harness tests: servers that always close, reports awaited with a timeout.
import { spawn } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import net from 'node:net';

import type { CloseObservation, FaultConnectionReport, FaultServerOptions } from '../../lib/harness/index.js';
import { nextEvent, within } from '../helpers/wait.js';
import { harness } from './load.js';

/** Closes everything given, even if the test failed halfway. */
export class Cleanup {
  private readonly closers: Array<() => Promise<unknown> | unknown> = [];
  add<T extends { close(): Promise<unknown> | unknown }>(thing: T): T {
    this.closers.push(() => thing.close());
    return thing;
  }
  async run(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close();
  }
}

/**
 * A client of `port` that half-closes as soon as it is connected and keeps reading; `closed` is
 * its observeClose() (10 s bound).
 */
export async function halfClosedClient(port: number): Promise<{ client: net.Socket; closed: Promise<CloseObservation> }> {
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const closed = within(harness.observeClose(client), 10_000, 'the client socket to close');
  await nextEvent(client, 'connect', 5000);
  client.end();
  client.resume();
  return { client, closed };
}

/** The next 'report' of a fault server or proxy. */
export async function nextReport<R>(emitter: EventEmitter, ms = 10_000): Promise<R> {
  const [report] = await nextEvent<[R]>(emitter, 'report', ms);
  return report;
}

/** The names of a fault server report's steps, in order. */
export const steps = (report: FaultConnectionReport): string[] => report.steps.map((s) => s.step);

/** A fault server report's step named `name`. */
export const stepOf = (report: FaultConnectionReport, name: string) => report.steps.find((s) => s.step === name);

/** A fault server bounding its waits by `timeoutMs` (closed by `cleanup`), and its next report, within `reportMs`. */
export async function boundedFaultServer(cleanup: Cleanup, options: FaultServerOptions, timeoutMs: number, reportMs: number) {
  const server = cleanup.add(await harness.createFaultServer({ timeoutMs, ...options }));
  return { server, report: nextReport<FaultConnectionReport>(server, reportMs) };
}

/**
 * A client of `port` that reads nothing (paused before it connects, so Node does not start
 * reading) until the test resumes it, sending `send` first (nothing if empty); `closed` is its
 * observeClose(), within `closeMs`. Destroyed by `cleanup`.
 */
export async function nonReader(
  cleanup: Cleanup,
  port: number,
  send: string,
  closeMs: number,
): Promise<{ client: net.Socket; closed: Promise<CloseObservation> }> {
  const client = net.connect({ port, host: '127.0.0.1' });
  client.pause();
  const closed = within(harness.observeClose(client), closeMs, 'the client socket to close');
  // Not every path awaits it: a failure elsewhere must not surface as an unhandled rejection.
  closed.catch(() => {});
  cleanup.add({ close: () => client.destroy() });
  await nextEvent(client, 'connect', 5000);
  if (send.length > 0) client.write(send);
  return { client, closed };
}

/**
 * A port whose SYNs go unanswered: a listener (python, so that nothing accepts) whose accept queue
 * is full. Connecting to it hangs as to a host that drops packets. The listener lives until
 * `cleanup` runs.
 */
export async function unansweringPort(cleanup: Cleanup): Promise<number> {
  const script = [
    'import socket, sys',
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
    'held = []',
    'for _ in range(4):',
    '    c = socket.socket(); c.setblocking(False)',
    '    try: c.connect(s.getsockname())',
    '    except BlockingIOError: pass',
    '    held.append(c)',
    'print(s.getsockname()[1], flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanup.add({ close: () => child.kill() });
  const [line] = await nextEvent<[Buffer]>(child.stdout, 'data', 10_000);
  return Number(line.toString().trim());
}
