// One request with the curl program, as users run it: the status from -w, the body from -o, and
// curl's exit code (55: failed sending, 56: failed receiving, 52: empty reply).
import fs from 'node:fs';
import path from 'node:path';

import { runChild } from './children.js';
import type { Seen } from './outcomes.js';

/** What curl saw. */
export interface CurlOutcome {
  exitCode: number | null;
  /** The HTTP status curl reports (0: none received). */
  status: number;
  body: Buffer;
  /** curl's own error message (-S), trimmed. */
  error: string;
}

/** How to send the request. */
export interface CurlRequest {
  url: string;
  /** The upload: sent with --data-binary from this file. */
  bodyFile: string;
  /** 'POST' (default) or 'GET' (a GET with a body). */
  method?: 'POST' | 'GET';
  /** Where to write the response body (removed with the test's temp directory). */
  outFile: string;
}

// Each request is bounded well inside a test's 40 s for all of them (5 rounds of 4).
const MAX_SECONDS = 6;

/** Runs curl once, bounded (curl's --max-time, and a kill a few seconds later). */
export async function curlOnce(curl: string, request: CurlRequest): Promise<CurlOutcome> {
  const args = [
    '-sS',
    '--max-time',
    String(MAX_SECONDS),
    '-o',
    request.outFile,
    '-w',
    '%{http_code}',
    // No "Expect: 100-continue": the body goes at once, as in the notes (curl would wait for the 100).
    '-H',
    'Expect:',
    '-H',
    'Content-Type: application/octet-stream',
    '--data-binary',
    `@${request.bodyFile}`,
    ...(request.method === 'GET' ? ['-X', 'GET'] : []),
    request.url,
  ];
  const done = await runChild(curl, args, (MAX_SECONDS + 5) * 1000, `curl ${request.url}`);
  const body = fs.existsSync(request.outFile) ? fs.readFileSync(request.outFile) : Buffer.alloc(0);
  return { exitCode: done.code, status: Number(done.stdout.trim() || 0), body, error: done.stderr.trim() };
}

/** A file of `size` bytes to upload, in `dir`. */
export function uploadFile(dir: string, size: number): string {
  const file = path.join(dir, `upload-${size}.bin`);
  fs.writeFileSync(file, Buffer.alloc(size, 'u'));
  return file;
}

/** curl's outcome as a {@link Seen}: any exit code but 0 is an error. */
export function seenByCurl(outcome: CurlOutcome): Seen {
  return {
    status: outcome.status,
    body: outcome.body,
    error: outcome.exitCode === 0 ? null : `curl exit ${outcome.exitCode}: ${outcome.error}`,
  };
}
