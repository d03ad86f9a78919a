// HAProxy 2.6 in mode http in front of the Node server: foreground (-db), no user, group or
// chroot, its listening socket inherited from the test (`bind fd@3`), so it is ready once spawned,
// and one log line per request on stderr with the status and the termination state ("----":
// nothing went wrong; "SD--": the server's side ended in an error while data was flowing).
import fs from 'node:fs';
import path from 'node:path';

import { startDaemon, type Daemon, type Finished } from './children.js';
import { INHERITED_FD, listenerForChild } from './inherited-listener.js';
import { requireTool } from './tools.js';

/** One request as HAProxy logged it. */
export interface HaproxyLogLine {
  status: number;
  /** The 4-character termination state (%tsc). */
  termination: string;
}

/** A running HAProxy. */
export interface Haproxy {
  port: number;
  daemon: Daemon;
  /** The request log lines so far. */
  requests(): HaproxyLogLine[];
  /** Whatever else it wrote (warnings, alerts). */
  otherOutput(): string;
  /** Throws, with what it wrote, if it has exited. */
  expectRunning(): void;
  /**
   * Stops it gracefully (soft stop: requests in flight end first) and waits for its exit (5 s): its
   * logs are complete after it.
   */
  finish(): Promise<Finished>;
  /** Stops it at once (cleanup). */
  stop(): Promise<void>;
}

const LOG_PREFIX = 'interop-request';

function config(upstreamPort: number): string {
  return `# Written by test/interop/haproxy.ts.
global
  log stderr format raw local0
  # One thread: with two, HAProxy drops a log line rather than wait when both write at once
  # (src/fd.c, fd_write_frag_line: 200 tries at the log fd's lock, then EAGAIN); the tests count
  # requests by log line.
  nbthread 1
defaults
  mode http
  log global
  # What option httplog logs, cut to the fields the tests read.
  log-format "${LOG_PREFIX} %ST %tsc"
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend interop
  bind fd@${INHERITED_FD}
  default_backend node
backend node
  server node 127.0.0.1:${upstreamPort}
`;
}

/** Starts HAProxy with its config in `dir` (the caller removes it), proxying to 127.0.0.1:`upstreamPort`. */
export async function startHaproxy(dir: string, upstreamPort: number): Promise<Haproxy> {
  const haproxy = requireTool('haproxy');
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, config(upstreamPort));
  const listener = await listenerForChild();
  let daemon: Daemon;
  try {
    daemon = startDaemon(haproxy, ['-db', '-f', cfg], { stdio: listener.stdio, env: process.env });
  } finally {
    listener.handedOver();
  }
  const lines = () => daemon.output().stderr.split('\n').filter(Boolean);
  return {
    port: listener.port,
    daemon,
    requests: () =>
      lines()
        .filter((line) => line.startsWith(`${LOG_PREFIX} `))
        .map((line) => {
          const [, status = '', termination = ''] = line.split(' ');
          return { status: Number(status), termination };
        }),
    otherOutput: () => lines().filter((line) => !line.startsWith(`${LOG_PREFIX} `)).join('\n'),
    expectRunning: () => {
      const { exitCode, signalCode } = daemon.child;
      if (exitCode !== null || signalCode !== null) throw new Error(`haproxy exited (${exitCode ?? signalCode}) during the test:\n${daemon.output().stderr}`);
    },
    finish: () => daemon.stop('SIGUSR1'),
    stop: async () => void (await daemon.stop()),
  };
}
