// An http/https server with lingering close enabled, for the close-path tests: counts the
// requests its handler saw and queues each connection's lingering-close report.
import type http from 'node:http';
import type net from 'node:net';

import { expect } from 'vitest';

import { listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';
import type { PeerResult, Step } from './kernel-peer.js';

type LingerReport = Parameters<NonNullable<Parameters<typeof sockclose.enableLingeringClose>[1]>['onReport'] & {}>[0];
type EnableOptions = NonNullable<Parameters<typeof sockclose.enableLingeringClose>[1]>;

/** A listening server with lingering close and what it saw. */
export interface LingeringHttp<S extends net.Server> {
  server: S;
  port: number;
  /** Requests the handler was called for. */
  requests: http.IncomingMessage[];
  /** The next connection's report (in the order the lingers ended). */
  nextReport(ms?: number): Promise<LingerReport>;
  disable: ReturnType<typeof sockclose.enableLingeringClose>;
}

/**
 * Starts `server` (created without a handler) on 127.0.0.1 with lingering close; `handler`
 * answers its requests.
 */
export async function lingeringHttp<S extends http.Server>(
  server: S,
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  options: EnableOptions = {},
): Promise<LingeringHttp<S>> {
  const requests: http.IncomingMessage[] = [];
  const reports: LingerReport[] = [];
  const waiters: ((report: LingerReport) => void)[] = [];
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.push(req);
    handler(req, res);
  });
  const disable = sockclose.enableLingeringClose(server, {
    ...options,
    onReport: (report, socket) => {
      options.onReport?.(report, socket);
      const waiter = waiters.shift();
      if (waiter) waiter(report);
      else reports.push(report);
    },
  });
  await listen(server);
  return {
    server,
    port: portOf(server),
    requests,
    disable,
    nextReport: (ms = 20_000) => {
      const ready = reports.shift();
      if (ready) return Promise.resolve(ready);
      return within(new Promise<LingerReport>((resolve) => waiters.push(resolve)), ms, 'a lingering close report');
    },
  };
}

/** A keep-alive GET of `/path`. */
export function getRequest(path = '/', extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;
}

/** What the peer sends after our FIN: a pipelined request that must never reach the handler. */
export const LATE_REQUEST = getRequest('/late');

/** After the server's FIN: the late request, the client's FIN, and the end the client sees. */
export const LATE: Step[] = [{ recvEnd: true }, { sendText: LATE_REQUEST }, { shutdown: true }, { recvEnd: true }];

/** The client's view after the late request, drained by a linger: a clean end, nothing failed. */
export function expectCleanLateEnd(seen: PeerResult): void {
  expect(seen.end).toBe('eof');
  expect(seen.sendError).toBeNull();
}

/** The body every test response ends with, so that the client can tell it has all of it. */
export const BODY_END = 'BODY-END';

/** A short answer ending with {@link BODY_END}. */
export function ok(res: http.ServerResponse): void {
  res.end(`ok ${BODY_END}`);
}

/** The early answer this project exists for: a 413 with `Connection: close`, the upload never read. */
export function answer413(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(413, { Connection: 'close', 'Content-Type': 'text/plain' });
  res.end(`too large ${BODY_END}`);
}

/** What the client of {@link answer413} must have seen: the whole answer, then a clean end. */
export function expectWhole413(seen: PeerResult): void {
  expect(seen.head).toMatch(/^HTTP\/1\.1 413 /);
  expect(seen.head).toContain(BODY_END);
  expect(seen).toMatchObject({ end: 'eof', sendError: null });
}

/** A client's whole upload of `size` bytes, then its read of the answer to the server's FIN. */
export function uploadSteps(size: number): Step[] {
  return [{ sendText: `POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${size}\r\n\r\n` }, { send: size }, { recvEnd: true }];
}
