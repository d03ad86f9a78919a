// The server-side counterpart of kernel-client.ts: a Python server, so that what a reset looks
// like to the peer is read straight from recv(), with no libuv in between.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

import { root } from './sockclose.js';
import { within } from './wait.js';

export interface KernelServerResult {
  received: number;
  /** 'eof', 'timeout', 'accept-timeout', or the errno name recv() failed with. */
  end: string;
}

export interface KernelServer {
  port: number;
  /** Resolves with what the server saw, once its one connection ended. */
  result: Promise<KernelServerResult>;
  kill(): void;
}

/** Starts test/fixtures/kernel_server.py and resolves once it listens. */
export async function kernelServer(options: { tls?: { cert: string; key: string }; send?: number; resetAtEof?: boolean } = {}): Promise<KernelServer> {
  const script = path.join(root, 'test', 'fixtures', 'kernel_server.py');
  const child = spawn('python3', [script, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  const first = await within(iterator.next(), 10_000, 'the Python server to listen');
  if (first.done) throw new Error('kernel_server.py exited before listening');
  const { port } = JSON.parse(first.value as string) as { port: number };
  const result = within(
    iterator.next().then((line) => {
      if (line.done) throw new Error('kernel_server.py exited without a result');
      return JSON.parse(line.value as string) as KernelServerResult;
    }),
    30_000,
    'the Python server to report',
  );
  result.catch(() => undefined); // observed by the caller; avoid an unhandled rejection meanwhile
  return { port, result, kill: () => child.kill() };
}
