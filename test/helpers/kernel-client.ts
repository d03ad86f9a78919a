// A kernel-level peer: a small Python program using the socket module directly, so what it
// reports is what recv()/send() returned, with no libuv in between (libuv reports many RSTs as a
// clean EOF).
import { spawn } from 'node:child_process';
import path from 'node:path';

import { root } from './sockclose.js';
import { within } from './wait.js';

/** What the Python client saw. */
export interface KernelClientResult {
  /** Bytes received before the end. */
  received: number;
  /** How reading ended: 'eof', or the errno name ('ECONNRESET', …). */
  end: string;
  /** Errno name of the first failed send, or null. */
  sendError: string | null;
  /** Whether connect() itself failed, with its errno name. */
  connectError: string | null;
}

/** Options for {@link kernelClient}. */
export interface KernelClientOptions {
  host?: string;
  port: number;
  /** Bytes to send right after connecting (the "unread request bytes"). */
  send?: number;
  /** Shut the write side after sending. */
  shutdown?: boolean;
  /** Try to send this many more bytes after the first read, to see EPIPE. */
  sendAfterRead?: number;
  /**
   * After a clean EOF, wait (up to the read timeout) for the kernel to flag an error, then send
   * this many bytes: the only way to learn of a reset that arrived in CLOSE_WAIT (EPIPE).
   */
  sendAfterEnd?: number;
  /** Speak TLS (certificate not verified). */
  tls?: boolean;
  /** Give up reading after this many ms (a socket timeout inside the client). */
  readTimeoutMs?: number;
}

/** Runs test/fixtures/kernel_client.py against a loopback server and returns what it saw. */
export async function kernelClient(options: KernelClientOptions): Promise<KernelClientResult> {
  const script = path.join(root, 'test', 'fixtures', 'kernel_client.py');
  const child = spawn('python3', [script, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const code = await within(
    new Promise<number | null>((resolve) => child.on('close', resolve)),
    (options.readTimeoutMs ?? 10_000) + 10_000,
    'the Python client to finish',
  ).catch((error: unknown) => {
    child.kill(); // a failed test must not leave its peer behind
    throw error;
  });
  if (code !== 0) throw new Error(`kernel_client.py exited with ${code}: ${out}`);
  return JSON.parse(out) as KernelClientResult;
}
