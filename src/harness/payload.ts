// What the fault server says and how much of the request it reads. In 'raw' mode it acts on
// accept and reads nothing first; in 'http' mode it reads the request head (so Node's http client
// and fetch get a response they can parse), and leaves the body, if any, unread in the kernel.
import type net from 'node:net';

/** The fault server's wire protocol. */
export type FaultProtocol = 'raw' | 'http';

const HEAD_END = Buffer.from('\r\n\r\n');
/** A request head larger than this is not HTTP as far as the harness cares: stop looking. */
const MAX_HEAD = 64 * 1024;

/** The bytes a response behaviour writes: `bodyBytes` of 'x', behind an HTTP head in 'http' mode. */
export function responsePayload(protocol: FaultProtocol, bodyBytes: number): Buffer {
  const body = Buffer.alloc(bodyBytes, 'x');
  if (protocol === 'raw') return body;
  const head =
    'HTTP/1.1 200 OK\r\n' +
    'Content-Type: application/octet-stream\r\n' +
    `Content-Length: ${bodyBytes}\r\n` +
    'Connection: close\r\n' +
    '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** How reading the request head went. */
export interface HeadResult {
  /** 'head': found; 'timeout': none within the time; 'eof': the peer ended first; 'closed'. */
  outcome: 'head' | 'timeout' | 'eof' | 'closed' | 'too-large';
  /** Bytes read from the socket while looking (head, and any body bytes that came with it). */
  bytesRead: number;
}

/**
 * Reads until the end of an HTTP request head, then pauses the socket again: body bytes that had
 * not arrived in the same reads stay unread in the kernel (a close then sends RST, as Node's http
 * server does after an early response). Bounded by `timeoutMs`.
 */
export function readRequestHead(socket: net.Socket, timeoutMs: number): Promise<HeadResult> {
  return new Promise((resolve) => {
    let seen = Buffer.alloc(0);
    let bytesRead = 0;
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    const onData = (chunk: Buffer) => {
      bytesRead += chunk.length;
      // Keep only what could still hold the head's end across chunk boundaries.
      seen = Buffer.concat([seen.subarray(-(HEAD_END.length - 1)), chunk]);
      if (seen.includes(HEAD_END)) done('head');
      else if (bytesRead > MAX_HEAD) done('too-large');
    };
    const onEnd = () => done('eof');
    const onClose = () => done('closed');
    function done(outcome: HeadResult['outcome']): void {
      clearTimeout(timer);
      socket.off('data', onData).off('end', onEnd).off('close', onClose);
      socket.pause();
      resolve({ outcome, bytesRead });
    }
    if (socket.destroyed) return done('closed');
    socket.on('data', onData).once('end', onEnd).once('close', onClose);
    // Accepted paused (readableFlowing false): a 'data' listener alone does not start the flow.
    socket.resume();
  });
}
