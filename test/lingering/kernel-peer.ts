// A long-lived kernel-level client (fixtures/scripted_client.py) for the lingering-close tests:
// one Python process per test file runs many scripted connections, so what the tests judge is what
// recv()/send() returned, without libuv (which reports many resets as a clean EOF).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

import { within } from '../helpers/wait.js';

/** One step of a scripted connection (see fixtures/scripted_client.py). */
export type Step =
  | { send: number }
  | { sendText: string }
  | { recvUntil: number }
  | { recvText: string }
  | { recvEnd: true }
  | { shutdown: true }
  | { waitMs: number }
  | { awaitError: true }
  | { trickle: { everyMs: number } }
  /** Waits, holding the connection as it is, until the gate of this name (see {@link Gates}) opens. */
  | { gate: string }
  | { reset: true };

/**
 * What a gate step waits for: the function of its name runs when the client reaches the step, and
 * the client goes on once it resolves (each function bounds its own wait, failing loudly). If it
 * rejects, the client ends the connection there and run() rejects with its error.
 */
export type Gates = Record<string, () => Promise<void>>;

/** A scripted connection. */
export interface Job {
  port: number;
  host?: string;
  tls?: boolean;
  timeoutMs?: number;
  /** SO_RCVBUF set before connecting: a fixed, small window (no autotuning). */
  rcvbuf?: number;
  steps: Step[];
}

/** What the client saw. */
export interface PeerResult {
  received: number;
  /** The first 200 bytes received (latin-1). */
  head: string;
  /** 'eof' (a clean end; on TLS with close_notify), 'ragged-eof' (TLS without close_notify), 'timeout', or an errno name. */
  end: string | null;
  sendError: string | null;
  connectError: string | null;
  /** What an `awaitError` step saw: 'error' (the socket's error is pending), 'hup', 'timeout'; null without one. */
  awaited: 'error' | 'hup' | 'timeout' | null;
}

const SCRIPT = path.join(import.meta.dirname, 'fixtures', 'scripted_client.py');

/** The Python client process. Jobs run one after another, in the order given. */
export class KernelPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<number, { resolve: (line: Record<string, unknown>) => void; reject: (error: Error) => void }>();
  private readonly gated = new Map<number, (gate: string) => void>();
  private nextId = 1;
  private stderr = '';

  constructor() {
    this.child = spawn('python3', ['-u', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Record<string, unknown>;
      const id = message.id as number;
      if (typeof message.gate === 'string') return this.gated.get(id)?.(message.gate);
      const waiter = this.waiting.get(id);
      this.waiting.delete(id);
      waiter?.resolve(message);
    });
    // A client that died fails what waits for it now, with what it said, not at the wait's bound.
    this.child.once('close', (code, signal) => {
      const error = new Error(`the scripted client exited (${signal ?? `code ${code}`}); python stderr: ${this.stderr.slice(-500) || 'empty'}`);
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    });
  }

  private get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  private send(message: object, id: number, what: string, ms: number): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(new Error(`${what}: the scripted client has exited; python stderr: ${this.stderr.slice(-500) || 'empty'}`));
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
    return within(reply, ms, what);
  }

  /** Runs one scripted connection; `gates` opens its gate steps. */
  async run(job: Job, gates: Gates = {}): Promise<PeerResult> {
    const id = this.nextId++;
    const timeoutMs = job.timeoutMs ?? 10_000;
    // A gate function's error (the first), thrown once the client has ended the connection.
    const failures: unknown[] = [];
    // The gate function running now, if any: a client that gave up at its gate first (the job's
    // deadline) reports that function's own error, which says what never happened.
    let pending = null as Promise<unknown> | null;
    this.gated.set(id, (gate) => {
      const open = gates[gate] ?? (() => Promise.reject(new Error(`no function given for the gate '${gate}'`)));
      const opening = Promise.resolve().then(open);
      pending = opening;
      opening.then(
        () => {
          // Only while the job is still at its gate: a late answer would reach the next job.
          if (this.gated.has(id)) this.child.stdin.write(`${JSON.stringify({ open: id })}\n`);
        },
        (error: unknown) => {
          failures.push(error);
          if (this.gated.has(id)) this.child.stdin.write(`${JSON.stringify({ open: id, abort: true })}\n`);
        },
      );
    });
    try {
      const result = (await this.send({ ...job, id, timeoutMs }, id, 'the scripted client', timeoutMs + 10_000)) as unknown as PeerResult & { gateTimeout?: string };
      if (result.gateTimeout !== undefined && failures.length === 0 && pending !== null) {
        // Give the gate function a moment to fail with its own message (each bounds its wait).
        await within(pending, 5_000, 'the gate function').catch(() => undefined);
      }
      if (failures.length > 0) throw failures[0];
      if (result.gateTimeout !== undefined) throw new Error(`the scripted client gave up waiting at the gate '${result.gateTimeout}' (its timeoutMs)`);
      return result;
    } finally {
      this.gated.delete(id);
    }
  }

  /**
   * Opens `count` connections at once, sends `send` bytes on each, and reads each until the server
   * ends it. Resolves with how they ended (`open`: not ended within `timeoutMs`); the connections
   * stay open (FIN received, ours not sent) until `release()`.
   */
  async hold(port: number, count: number, send: number, timeoutMs = 20_000): Promise<{ ends: Record<string, number>; release: () => Promise<void> }> {
    const id = this.nextId++;
    const reply = await this.send({ id, hold: count, port, send, timeoutMs }, id, 'the held connections', timeoutMs + 20_000);
    const release = async () => {
      await this.send({ release: id }, id, 'the release of held connections', 20_000);
    };
    return { ends: reply.ends as Record<string, number>, release };
  }

  /** Ends the Python process. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin.end();
    await within(exited, 10_000, 'the scripted client to exit');
  }
}
