// What docs/aix.md says of the case protectCluster() does not cover: connection handles a primary
// passes to a worker itself (worker.send(message, socket), "sticky sessions"). Under the AIX
// error-state emulation, one connection its peer reset before the primary sent it is lost, and it
// takes the worker's handle passing down with it: the worker cannot type it, Node (not libuv) never
// takes it off libuv's queue, so every later handle sent to that worker is lost too (each after
// three retransmissions, each leaving descriptors open in the worker), while the primary's send
// callbacks report success. Closing what peekSocketError() flags, in the primary, keeps it working.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { within } from '../helpers/wait.js';
import { Resetter } from './cluster-harness.js';
import { childEnv, emulationLibrary, removeEmulationLibrary } from './emulation.js';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'sent-handles.cjs');
const HEALTHY_AFTER_RESET = 3;

type Message =
  | { type: 'ready'; port: number }
  | { type: 'accepted'; pending: string | null }
  | { type: 'closed-in-primary' | 'delivered' | 'lost' }
  | { type: 'fds'; worker: number };

/** The fixture's primary (and its worker), driven over IPC; every wait bounded. */
class Sender {
  readonly messages: Message[] = [];
  private readonly waiters = new Set<() => void>();
  private exited: string | null = null;

  constructor(private readonly child: ChildProcess) {
    child.on('message', (message: Message) => {
      this.messages.push(message);
      for (const wake of this.waiters) wake();
    });
    child.on('exit', (code, signal) => {
      this.exited = String(code ?? signal);
      for (const wake of this.waiters) wake();
    });
  }

  static async start(library: string | null, filter: boolean): Promise<Sender> {
    // --no-warnings: the SentHandleNotReceivedWarning events still fire, without the noise on stderr.
    const child = spawn(process.execPath, ['--no-warnings', FIXTURE, JSON.stringify({ filter })], {
      env: childEnv(library),
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      detached: true, // its own process group: stop() kills the primary and its worker
    });
    const sender = new Sender(child);
    running.add(sender);
    await sender.until(() => sender.port() !== 0, 20_000, 'the primary to listen');
    return sender;
  }

  port(): number {
    const ready = this.messages.find((message) => message.type === 'ready');
    return ready?.type === 'ready' ? ready.port : 0;
  }

  count(type: Message['type']): number {
    return this.messages.filter((message) => message.type === type).length;
  }

  until(condition: () => boolean, ms: number, what: string): Promise<void> {
    let wake!: () => void;
    const reached = new Promise<void>((resolve, reject) => {
      wake = () => {
        if (condition()) resolve();
        else if (this.exited !== null) reject(new Error(`the primary exited (${this.exited}) before ${what}`));
      };
    });
    this.waiters.add(wake);
    wake();
    return within(reached, ms, what).finally(() => this.waiters.delete(wake));
  }

  /** A connection reset by its peer before the primary accepts it (the primary is stopped meanwhile). */
  async resetBeforeAccept(resetter: Resetter): Promise<void> {
    const accepted = this.count('accepted');
    process.kill(this.child.pid!, 'SIGSTOP');
    try {
      await resetter.reset(this.port());
    } finally {
      process.kill(this.child.pid!, 'SIGCONT');
    }
    await this.until(() => this.count('accepted') > accepted, 10_000, 'the primary to accept the reset connection');
    expect(this.messages.filter((message) => message.type === 'accepted').at(-1)).toEqual({ type: 'accepted', pending: 'ECONNRESET' });
  }

  /**
   * One healthy connection, then what became of it: 'delivered' (and the client read the worker's
   * 'hi'), or 'lost' (Node gave up on the handle; the client, which got nothing, is then closed).
   */
  async healthy(): Promise<'delivered' | 'lost'> {
    const [delivered, lost] = [this.count('delivered'), this.count('lost')];
    const client = net.connect(this.port(), '127.0.0.1');
    let received = '';
    client.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    client.on('error', () => {});
    const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    try {
      await this.until(() => this.count('delivered') > delivered || this.count('lost') > lost, 10_000, 'the handle to be delivered or given up');
      if (this.count('lost') > lost) return 'lost';
      await within(closed, 5000, "the worker's answer");
      expect(received).toBe('hi');
      return 'delivered';
    } finally {
      client.destroy();
    }
  }

  async workerFds(): Promise<number> {
    const before = this.count('fds');
    this.child.send({ type: 'fds' });
    await this.until(() => this.count('fds') > before, 10_000, "the worker's descriptor count");
    const last = this.messages.filter((message) => message.type === 'fds').at(-1);
    return last?.type === 'fds' ? last.worker : -1;
  }

  stop(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

const running = new Set<Sender>();
let resetter: Resetter;

beforeAll(() => {
  resetter = Resetter.start();
});
afterAll(() => resetter.close());
afterAll(removeEmulationLibrary);
afterEach(() => {
  for (const sender of running) sender.stop();
  running.clear();
});

describe('connection handles passed to a worker by hand (not covered by protectCluster), AIX emulated', () => {
  it('one reset connection sent to a worker makes every later handle to it lost too', async ({ annotate }) => {
    const sender = await Sender.start(await emulationLibrary(), false);
    expect([await sender.healthy(), await sender.healthy()]).toEqual(['delivered', 'delivered']);
    const fdsBefore = await sender.workerFds();

    await sender.resetBeforeAccept(resetter);
    await sender.until(() => sender.count('lost') === 1, 10_000, 'the reset connection to be given up');

    const after: string[] = [];
    for (let i = 0; i < HEALTHY_AFTER_RESET; i++) after.push(await sender.healthy());
    expect(after).toEqual(Array(HEALTHY_AFTER_RESET).fill('lost'));
    expect(sender.count('delivered')).toBe(2);
    // Each lost handle stays open in the worker (measured: 4 descriptors each, one per transmission).
    const fdsAfter = await sender.workerFds();
    expect(fdsAfter - fdsBefore).toBeGreaterThanOrEqual(1 + HEALTHY_AFTER_RESET);
    await annotate(`after one reset handle: ${HEALTHY_AFTER_RESET} of ${HEALTHY_AFTER_RESET} healthy handles lost; worker descriptors ${fdsBefore} -> ${fdsAfter}`);
  });

  it('closing in the primary what peekSocketError() flags keeps the worker receiving', async () => {
    const sender = await Sender.start(await emulationLibrary(), true);
    await sender.resetBeforeAccept(resetter);
    await sender.until(() => sender.count('closed-in-primary') === 1, 10_000, 'the reset connection to be closed in the primary');
    const after: string[] = [];
    for (let i = 0; i < HEALTHY_AFTER_RESET; i++) after.push(await sender.healthy());
    expect(after).toEqual(Array(HEALTHY_AFTER_RESET).fill('delivered'));
    expect(sender.count('lost')).toBe(0);
  });

  it('control: without the emulation (plain Linux) the same sequence loses nothing', async () => {
    const sender = await Sender.start(null, false);
    await sender.resetBeforeAccept(resetter);
    const after: string[] = [];
    for (let i = 0; i < HEALTHY_AFTER_RESET; i++) after.push(await sender.healthy());
    expect(after).toEqual(Array(HEALTHY_AFTER_RESET).fill('delivered'));
    expect(sender.count('lost')).toBe(0);
  });
});
