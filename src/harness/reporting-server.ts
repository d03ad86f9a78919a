// What the fault server and the fault proxy share: a paused, half-open TCP server, the address it
// got, the connections open on it, and the reports of those that have closed (the last 1000).
import { EventEmitter, once } from 'node:events';
import net from 'node:net';

import type { Endpoint } from './options.js';

const MAX_REPORTS = 1000;

/** Anything close() can end at once: a socket, a proxied link. */
interface Connection {
  destroy(): void;
}

export abstract class ReportingServer<C extends Connection, Report> extends EventEmitter {
  /** Connections accepted and not yet closed; the subclass adds them, track() removes them. */
  protected readonly connections = new Set<C>();
  private readonly server: net.Server;
  private readonly done: Report[] = [];
  private readonly pending = new Set<Promise<void>>();
  private bound: Endpoint = { host: '', port: 0 };

  constructor() {
    super();
    // Paused: nothing is read until the subclass says so (unread input is part of some faults; the
    // proxy waits for its upstream). Half-open: each FIN is sent, or passed on, by itself.
    this.server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  get address(): Endpoint {
    return { ...this.bound };
  }
  get host(): string {
    return this.bound.host;
  }
  get port(): number {
    return this.bound.port;
  }
  get activeConnections(): number {
    return this.connections.size;
  }
  get reports(): readonly Report[] {
    return [...this.done];
  }

  async listen(endpoint: Endpoint): Promise<void> {
    this.server.listen(endpoint.port, endpoint.host);
    await once(this.server, 'listening');
    const address = this.server.address() as net.AddressInfo;
    this.bound = { host: address.address, port: address.port };
  }

  /** Whether it is listening now. */
  get listening(): boolean {
    return this.server.listening;
  }

  /** Stops listening, destroys every open connection, resolves once all have been reported. */
  async close(): Promise<void> {
    // A server already stopped calls back at once (with ERR_SERVER_NOT_RUNNING, not an error here).
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections) connection.destroy();
    await Promise.all([closed, ...this.pending]);
  }

  /** Takes a newly accepted (paused) socket. */
  protected abstract accept(socket: net.Socket): void;

  /**
   * Once `ended` resolves: forgets `connection`, keeps the report `toReport` makes of the value,
   * and emits `'report'` with it. close() waits for this.
   */
  protected track<T>(connection: C, ended: Promise<T>, toReport: (value: T) => Report): void {
    const finished = ended.then((value) => {
      this.connections.delete(connection);
      this.pending.delete(finished);
      const report = toReport(value);
      this.done.push(report);
      if (this.done.length > MAX_REPORTS) this.done.shift();
      this.emit('report', report);
    });
    this.pending.add(finished);
  }
}
