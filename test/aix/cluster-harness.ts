// Runs fixtures/cluster-server.cjs (a cluster primary and its workers) as a child process tree and
// drives it: normal HTTP clients, clients that connect and reset at once, and the primary's reports.
// Everything is bounded; stop() kills the whole process group, so a failing test leaves nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';

import type { sockclose } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';
import { childEnv } from './emulation.js';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'cluster-server.cjs');

/** One process of the tree, and whether the AIX emulation is mapped into it. */
export interface ProcessInfo {
  role: string;
  pid: number;
  emulation: boolean;
}

interface Ready {
  type: 'ready';
  port: number;
  policy: 'rr' | 'none';
  processes: ProcessInfo[];
}

type Message =
  | Ready
  | { type: 'protection'; report: ReturnType<typeof sockclose.protectCluster> }
  | { type: 'handoff'; worker: number; withHandle: boolean }
  | { type: 'exit'; worker: number; code: number | null; signal: string | null }
  | { type: 'pong'; workers: number[] };

/** A round-robin 'newconn' a worker received, and whether its handle survived the trip. */
export interface Handoff {
  worker: number;
  withHandle: boolean;
}

export interface ClusterOptions {
  /** The compiled AIX emulation to preload into the primary and workers, or null for plain Linux. */
  emulation: string | null;
  /** Call protectCluster({ force: true }) in the primary before forking. */
  protect: boolean;
  workers?: number;
}

/** A running cluster under test. */
export class ClusterUnderTest {
  readonly handoffs: Handoff[] = [];
  readonly exits: Array<{ worker: number; code: number | null; signal: string | null }> = [];
  report: Extract<Message, { type: 'protection' }>['report'] | null = null;
  port = 0;
  policy: 'rr' | 'none' | null = null;
  processes: ProcessInfo[] = [];
  private readonly waiters = new Set<() => void>();
  private lastPong: number[] | null = null;
  private exitedWith: string | null = null;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-4000)));
    child.on('message', (message: Message) => this.record(message));
    child.on('exit', (code, signal) => {
      this.exitedWith = String(code ?? signal);
      this.wakeAll();
    });
  }

  private wakeAll(): void {
    for (const wake of this.waiters) wake();
  }

  /** Starts the tree and resolves once every worker listens (bounded). */
  static async start(options: ClusterOptions): Promise<ClusterUnderTest> {
    const config = { workers: options.workers ?? 2, protect: options.protect };
    const child = spawn(process.execPath, [FIXTURE, JSON.stringify(config)], {
      env: childEnv(options.emulation),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Its own process group: stop() kills the primary and every worker at once.
      detached: true,
    });
    const cluster = new ClusterUnderTest(child);
    try {
      await cluster.until(() => cluster.port !== 0, 20_000, 'the cluster to listen');
    } catch (error) {
      cluster.stop();
      throw error;
    }
    return cluster;
  }

  private record(message: Message): void {
    switch (message.type) {
      case 'protection':
        this.report = message.report;
        break;
      case 'ready':
        this.policy = message.policy;
        this.processes = message.processes;
        this.port = message.port;
        break;
      case 'handoff':
        this.handoffs.push({ worker: message.worker, withHandle: message.withHandle });
        break;
      case 'exit':
        this.exits.push({ worker: message.worker, code: message.code, signal: message.signal });
        break;
      case 'pong':
        this.lastPong = message.workers;
        break;
    }
    this.wakeAll();
  }

  /** Resolves when `condition` holds after a message from the primary; rejects after `ms`. */
  until(condition: () => boolean, ms: number, what: string): Promise<void> {
    if (condition()) return Promise.resolve();
    let wake!: () => void;
    const reached = new Promise<void>((resolve, reject) => {
      wake = () => {
        if (condition()) resolve();
        else if (this.exitedWith !== null) {
          reject(new Error(`the cluster primary exited (${this.exitedWith}) before ${what}: ${this.stderr}`));
        }
      };
    });
    this.waiters.add(wake);
    wake(); // the primary may already be gone
    return within(reached, ms, what).finally(() => this.waiters.delete(wake));
  }

  /** The ids of the workers whose event loop answered an IPC ping (bounded by the primary). */
  async ping(): Promise<number[]> {
    this.lastPong = null;
    this.child.send({ type: 'ping' });
    await this.until(() => this.lastPong !== null, 10_000, 'the workers to answer a ping');
    return this.lastPong!;
  }

  /**
   * Runs `action` with the primary stopped (SIGSTOP), then resumes it (SIGCONT), so that whatever
   * `action` does to a new connection happens before the primary can accept it. On AIX the same
   * ordering happens by itself whenever the reset beats the handoff (seed 000: "shortly after being
   * accepted"); here it makes the race deterministic. A stopped process still dies of stop()'s SIGKILL.
   */
  async whilePrimaryPaused<T>(action: () => Promise<T>): Promise<T> {
    const primary = this.processes.find((p) => p.role === 'primary')!.pid;
    process.kill(primary, 'SIGSTOP');
    try {
      return await action();
    } finally {
      process.kill(primary, 'SIGCONT');
    }
  }

  /** Workers that received a connection they could not type: out of rotation for good. */
  stuckWorkers(): Set<number> {
    return new Set(this.handoffs.filter((handoff) => !handoff.withHandle).map((handoff) => handoff.worker));
  }

  /**
   * Kills the whole process group (idempotent). Also after the primary died: its workers may
   * outlive it, and the group id cannot be reused while any of them is alive.
   */
  stop(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  /** Kills the tree and waits for the primary to be reaped. */
  async close(): Promise<void> {
    this.stop();
    await this.until(() => this.exitedWith !== null, 10_000, 'the cluster primary to exit').catch((error: Error) => {
      // until() rejects with "exited before" once the primary is gone: that is the goal here.
      if (this.exitedWith === null) throw error;
    });
  }
}

/** What a normal client got. */
export type RequestOutcome = { served: true; worker: number } | { served: false; why: string };

/** One HTTP GET on a fresh connection (so it goes through the cluster's distribution). */
export function normalRequest(port: number, timeoutMs: number): Promise<RequestOutcome> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      request.destroy();
      resolve({ served: false, why: `no response within ${timeoutMs} ms` });
    }, timeoutMs);
    const request = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        clearTimeout(timer);
        try {
          resolve({ served: true, worker: (JSON.parse(body) as { worker: number }).worker });
        } catch {
          resolve({ served: false, why: `bad body ${JSON.stringify(body)}` });
        }
      });
      response.on('error', (error) => {
        clearTimeout(timer);
        resolve({ served: false, why: error.message });
      });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      resolve({ served: false, why: error.message });
    });
  });
}

/**
 * Clients that connect and reset at once: fixtures/reset_clients.py, one long-lived process, which
 * sends the RST microseconds after the handshake (connect, SO_LINGER {1, 0}, close, back to back)
 * and returns only once the kernel has processed it. A Node client can only reset from its
 * 'connect' callback, a whole event-loop turn later.
 */
export class Resetter {
  private readonly lines: string[] = [];
  private readonly waiting: Array<(line: string) => void> = [];
  private queue: Promise<unknown> = Promise.resolve();
  private broken = false;

  private constructor(private readonly child: ChildProcess) {
    let buffer = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        const next = this.waiting.shift();
        if (next) next(line);
        else this.lines.push(line);
      }
    });
  }

  static start(): Resetter {
    const script = path.join(import.meta.dirname, 'fixtures', 'reset_clients.py');
    return new Resetter(spawn('python3', [script], { stdio: ['pipe', 'pipe', 'inherit'] }));
  }

  /** One connect-and-reset to 127.0.0.1:port; resolves once the kernel processed the RST (calls are serialised). */
  reset(port: number): Promise<void> {
    const done = this.queue.then(async () => {
      // After a timeout a late answer would be taken for the next one's: refuse instead.
      if (this.broken) throw new Error('the reset client stopped answering earlier');
      const line = new Promise<string>((resolve) => {
        const ready = this.lines.shift();
        if (ready !== undefined) resolve(ready);
        else this.waiting.push(resolve);
      });
      this.child.stdin!.write(`${port}\n`);
      const answer = await within(line, 10_000, 'the reset client').catch((error: Error) => {
        this.broken = true;
        throw error;
      });
      if (answer !== 'ok') throw new Error(`reset client: ${answer}`);
    });
    this.queue = done.catch(() => {});
    return done;
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill();
  }
}
