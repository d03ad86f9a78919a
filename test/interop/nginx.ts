// nginx as a `proxy_pass` reverse proxy in front of the Node server: in the foreground, a master
// and one worker, everything it writes (pid, logs, temp files) inside the test's temp directory,
// and its listening socket inherited from the test (NGINX="3;"), so it is ready once spawned.
//
// Not `master_process off`: nginx 1.22.1 dies of SIGSEGV at start-up when a single process
// inherits its listening socket (seen here every time); a master with one worker takes it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startDaemon, type Daemon, type Finished } from './children.js';
import { INHERITED_FD, listenerForChild } from './inherited-listener.js';
import { requireTool } from './tools.js';

/** A running nginx. */
export interface Nginx {
  port: number;
  daemon: Daemon;
  /** Entries of its error logs at level error or worse (an upstream failure, a start-up failure). */
  errors(): string[];
  /** The access log: one "status upstream_status" line per request. */
  accessLog(): string[];
  /** Throws, with its logs, if it has exited. */
  expectRunning(): void;
  /**
   * Stops it gracefully (graceful shutdown: requests in flight end first) and waits for its exit (5 s): its
   * logs are complete after it.
   */
  finish(): Promise<Finished>;
  /** Stops it at once (cleanup). */
  stop(): Promise<void>;
}

function config(dir: string, port: number, upstreamPort: number, requestBuffering: boolean): string {
  const at = (name: string) => path.join(dir, name);
  // As root the worker would switch to the default user (www-data) and nginx chown its temp paths
  // to it: stay root. Run as anyone else, nginx never switches user and the directive is left out.
  const user = process.getuid?.() === 0 ? `user ${os.userInfo().username};` : '';
  return `# Written by test/interop/nginx.ts.
daemon off;
master_process on;
worker_processes 1;
${user}
pid ${at('nginx.pid')};
error_log ${at('error.log')} error;
events { worker_connections 256; }
http {
  log_format interop '$status $upstream_status';
  access_log ${at('access.log')} interop;
  # The compiled-in temp paths are under /var/lib/nginx.
  client_body_temp_path ${at('client_body')};
  proxy_temp_path ${at('proxy')};
  fastcgi_temp_path ${at('fastcgi')};
  uwsgi_temp_path ${at('uwsgi')};
  scgi_temp_path ${at('scgi')};
  # Larger uploads than the 1 MB default reach Node, which refuses them itself.
  client_max_body_size 0;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_request_buffering ${requestBuffering ? 'on' : 'off'};
    }
  }
}
`;
}

const SERIOUS = /\[(error|crit|alert|emerg)\]/;

/**
 * Starts nginx with its files in `dir` (the caller removes it), proxying to
 * 127.0.0.1:`upstreamPort`, reading whole uploads before passing them on (`requestBuffering`,
 * nginx's default) or streaming them.
 */
export async function startNginx(dir: string, upstreamPort: number, requestBuffering: boolean): Promise<Nginx> {
  const nginx = requireTool('nginx');
  const listener = await listenerForChild();
  let daemon: Daemon;
  try {
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, config(dir, listener.port, upstreamPort, requestBuffering));
    // -e: the log of start-up, before the configuration's error_log applies (stderr otherwise).
    daemon = startDaemon(nginx, ['-p', `${dir}/`, '-c', conf, '-e', path.join(dir, 'early-error.log')], {
      stdio: listener.stdio,
      env: { ...process.env, NGINX: `${INHERITED_FD};` },
    });
  } finally {
    listener.handedOver();
  }
  const lines = (name: string) => {
    const file = path.join(dir, name);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  };
  const logs = () => [...lines('early-error.log'), ...lines('error.log')];
  const errors = () => logs().filter((line) => SERIOUS.test(line));
  return {
    port: listener.port,
    daemon,
    errors,
    accessLog: () => lines('access.log'),
    expectRunning: () => {
      const { exitCode, signalCode } = daemon.child;
      if (exitCode === null && signalCode === null) return;
      throw new Error(`nginx exited (${exitCode ?? signalCode}) during the test; its logs:\n${logs().join('\n')}\n${daemon.output().stderr}`);
    },
    finish: () => daemon.stop('SIGQUIT'),
    stop: async () => void (await daemon.stop()),
  };
}
