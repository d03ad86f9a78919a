// Node's http client and fetch (undici) as the harness tests drive them: every outcome collected,
// nothing thrown, bounded in time.
import http from 'node:http';
import type net from 'node:net';

import type { CloseObservation } from '../../lib/harness/index.js';
import { harness } from './load.js';
import { within } from '../helpers/wait.js';

/** What Node's http client saw. */
export interface HttpOutcome {
  status: number | null;
  /** Body bytes received. */
  body: number;
  /** res.complete at the end: the whole body arrived. */
  complete: boolean;
  /** The request's error code ('ECONNRESET', 'EPIPE', …). */
  requestError: string | null;
  requestErrorMessage: string | null;
  /** The response's error code (a body cut short). */
  responseError: string | null;
  timedOut: boolean;
  /** How the connection really ended, from the client socket. */
  observation: CloseObservation;
}

/** One request with a fresh connection (no agent). `body`: bytes of POST body, or a GET. */
export async function httpRequest(port: number, options: { body?: number; timeoutMs?: number } = {}): Promise<HttpOutcome> {
  const { body, timeoutMs } = options;
  let observed: Promise<CloseObservation> | undefined;
  const outcome = await within(
    new Promise<Omit<HttpOutcome, 'observation'>>((resolve) => {
      const out: Omit<HttpOutcome, 'observation'> = {
        status: null,
        body: 0,
        complete: false,
        requestError: null,
        requestErrorMessage: null,
        responseError: null,
        timedOut: false,
      };
      const request = http.request({
        host: '127.0.0.1',
        port,
        method: body === undefined ? 'GET' : 'POST',
        agent: false,
        headers: body === undefined ? {} : { 'content-length': body },
      });
      request.on('socket', (socket: net.Socket) => (observed = harness.observeClose(socket)));
      if (timeoutMs !== undefined) {
        request.setTimeout(timeoutMs, () => {
          out.timedOut = true;
          request.destroy();
        });
      }
      request.on('response', (response) => {
        out.status = response.statusCode ?? null;
        response.on('data', (chunk: Buffer) => (out.body += chunk.length));
        response.on('error', (error: NodeJS.ErrnoException) => (out.responseError = error.code ?? error.message));
        response.on('close', () => {
          out.complete = response.complete;
          resolve(out);
        });
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        out.requestError ??= error.code ?? error.message;
        out.requestErrorMessage ??= error.message;
      });
      request.on('close', () => {
        if (out.status === null) resolve(out);
      });
      request.end(body === undefined ? undefined : Buffer.alloc(body, 'p'));
    }),
    15_000,
    'the http request to finish',
  );
  const observation = await within(observed!, 10_000, 'the http client socket to close');
  return { ...outcome, observation };
}

/** What fetch saw. */
export interface FetchOutcome {
  status: number | null;
  body: number;
  /** The rejection: its name and message, and its cause's code ('ECONNRESET', 'UND_ERR_SOCKET', …). */
  error: { name: string; message: string; cause: string | null } | null;
  /** Where it failed: 'fetch' (no response) or 'body' (the body read). */
  failedAt: 'fetch' | 'body' | null;
}

/** One fetch; `body`: bytes of POST body, or a GET. */
export async function fetchOnce(port: number, options: { body?: number; timeoutMs?: number } = {}): Promise<FetchOutcome> {
  const { body, timeoutMs = 10_000 } = options;
  const out: FetchOutcome = { status: null, body: 0, error: null, failedAt: null };
  const describe = (error: unknown) => {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    return { name: e.name, message: e.message, cause: e.cause?.code ?? null };
  };
  let response: Response;
  try {
    response = await fetch(`http://127.0.0.1:${port}/`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { body: Buffer.alloc(body, 'p') }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return { ...out, error: describe(error), failedAt: 'fetch' };
  }
  out.status = response.status;
  try {
    out.body = (await response.arrayBuffer()).byteLength;
  } catch (error) {
    out.error = describe(error);
    out.failedAt = 'body';
  }
  return out;
}
