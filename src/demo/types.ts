// The demo's report: the seed 004 scenario closed three ways, side by side.

/** How the demo's server closes each connection. */
export type DemoMode = 'plain' | 'hardReset' | 'lingering';

/** What one way of closing did over all runs. */
export interface DemoModeResult {
  mode: DemoMode;
  /** As shown to people: 'plain close', 'hardReset', 'lingering close'. */
  label: string;
  runs: number;
  /** Runs in which the client received the whole response. */
  completeRuns: number;
  /** Mean bytes received per run. */
  meanBytes: number;
  /** Runs that ended with our FIN (a clean end, the kernel agrees). */
  endedWithFin: number;
  /** Runs that ended with an RST (ECONNRESET or EPIPE, as the kernel reports it). */
  endedWithReset: number;
  /** Of those, the runs where Node's client reported a clean 'end' (libuv hid the reset). */
  resetsNodeCalledClean: number;
  /**
   * TIME_WAIT sockets left on the server's port after the runs (the side that closes first keeps
   * one per connection), or null where the kernel does not show them (no /proc/net/tcp).
   */
  timeWaitLeft: number | null;
  /** Runs that lost part of the response or ended with an RST. */
  failures: number;
}

/** The whole demo. */
export interface DemoReport {
  /** Bytes the server sends on each connection (600,000, as in the seed). */
  responseBytes: number;
  /** Bytes the client sends first, which the server never reads (4). */
  unreadBytes: number;
  /** Runs per mode. */
  runs: number;
  modes: DemoModeResult[];
  durationMs: number;
}

/** Options for {@link runDemo}. */
export interface DemoOptions {
  /** Connections per mode. Default 50. */
  runs?: number;
  /** Called after each connection: `done` of `total` (all modes together). */
  progress?: (done: number, total: number) => void;
}
