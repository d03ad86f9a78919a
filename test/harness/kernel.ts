// A kernel-level client for the harness tests: test/harness/fixtures/harness_client.py, a Python
// program on the socket module, so what it reports is what recv()/send() returned, with no libuv
// in between (libuv reports many RSTs as a clean EOF).
import { spawn } from 'node:child_process';
import path from 'node:path';

import { within } from '../helpers/wait.js';

/** What the Python client saw. */
export interface KernelResult {
  connectError: string | null;
  received: number;
  /** 'eof', 'timeout', or the errno name recv() failed with. */
  end: string | null;
  endMs: number | null;
  /** With `shutdown`: ms from the client's FIN to the server's EOF. */
  finToEofMs: number | null;
  /** ms from the start of sending to the first byte, and to the end of reading. */
  sentToFirstByteMs: number | null;
  sentToEndMs: number | null;
  sendError: string | null;
  /** With `sendAfterEof`: whether the kernel flagged an error after the EOF. */
  pollErr: boolean | null;
}

export interface KernelOptions {
  port: number;
  host?: string;
  /** Bytes to send once connected. */
  send?: number;
  /** FIN after sending. */
  shutdown?: boolean;
  /** After a clean EOF: wait for the kernel's error flag (pollMs), then send this many bytes. */
  sendAfterEof?: number;
  pollMs?: number;
  readTimeoutMs?: number;
}

const script = path.join(import.meta.dirname, 'fixtures', 'harness_client.py');

/** The first error the client met: at connect, at send (which consumes a pending reset), or at recv. */
export function firstError(result: KernelResult): string | null {
  return result.connectError ?? result.sendError ?? (result.end === 'eof' ? null : result.end);
}

/** Runs the Python client to the end; rejects if it fails or outlives its own timeouts. */
export async function kernelClient(options: KernelOptions): Promise<KernelResult> {
  const child = spawn('python3', [script, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const code = await within(
    new Promise<number | null>((resolve) => child.on('close', resolve)),
    (options.readTimeoutMs ?? 5000) + (options.pollMs ?? 2000) + 10_000,
    'the Python client to finish',
  ).catch((error: unknown) => {
    child.kill(); // a failed test must not leave its peer behind
    throw error;
  });
  if (code !== 0) throw new Error(`harness_client.py exited with ${code}: ${out}${err}`);
  return JSON.parse(out) as KernelResult;
}
