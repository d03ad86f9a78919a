// The audit's scenarios on real loopback sockets: the seed 004 server (600,000 bytes written, the
// client's 4 request bytes never read, then Node's destroySoon()) and an http 413 to an upload
// the server never reads. Each client reports what it really got, so the audit's verdict can be
// checked against the client's experience.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

import { closeServer, listen } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';

export const RESPONSE_BYTES = 600_000;
export const UPLOAD_BYTES = 4 * 1024 * 1024;

/** The seed 004 server: never reads, writes 600,000 bytes, closes as Node's http does after `Connection: close`. */
export function seedServer(): net.Server {
  const payload = Buffer.alloc(RESPONSE_BYTES, 'x');
  return net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    socket.write(payload);
    socket.destroySoon();
  });
}

/**
 * The seed 004 server, audited, under a lingering close whose timeouts are long (only the client
 * ends a linger), listening; `cleanups` gets what undoes each step, to run in reverse.
 */
export async function auditedLingeringSeedServer(cleanups: (() => unknown)[]): Promise<{
  server: net.Server;
  audit: ReturnType<typeof sockclose.auditCloses>;
  lingering: ReturnType<typeof sockclose.enableLingeringClose>;
}> {
  const server = seedServer();
  const audit = sockclose.auditCloses(server);
  cleanups.push(() => audit.stop());
  const lingering = sockclose.enableLingeringClose(server, { idleTimeout: 10_000, maxTimeout: 20_000 });
  cleanups.push(lingering);
  await listen(server);
  cleanups.push(() => closeServer(server));
  return { server, audit, lingering };
}

/** What a client got. */
export interface ClientOutcome {
  bytes: number;
  error: string | null;
}

/**
 * A seed 004 client: sends 4 bytes; with `readAfter`, reads nothing until that promise settles
 * (the server has closed: whatever its kernel still held is then lost to the RST for certain).
 */
export function seedClient(port: number, readAfter?: Promise<unknown>): Promise<ClientOutcome> {
  return within(
    new Promise<ClientOutcome>((resolve) => {
      let bytes = 0;
      let error: string | null = null;
      const client = net.connect(port, '127.0.0.1', () => client.write('spam'));
      if (readAfter) {
        client.pause();
        void readAfter.then(() => client.resume());
      }
      client.on('data', (chunk: Buffer) => (bytes += chunk.length));
      client.on('error', (failure: NodeJS.ErrnoException) => (error ??= failure.code ?? failure.message));
      client.on('close', () => resolve({ bytes, error }));
    }),
    10_000,
    'the seed 004 client to finish',
  );
}

/** An http(s) handler: 413 to every upload without reading it, 200 elsewhere. */
export function uploadHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.method === 'POST') {
    res.writeHead(413, { Connection: 'close', 'Content-Type': 'text/plain' });
    res.end('too large');
    return;
  }
  req.resume();
  res.end(`ok ${req.url}`);
}

/** A raw client posting UPLOAD_BYTES to /upload (over TLS with `secure`), reading the answer. */
export function uploadClient(port: number, secure = false): Promise<ClientOutcome & { head: string }> {
  return within(
    new Promise((resolve) => {
      let received = '';
      let error: string | null = null;
      const onConnect = () => {
        socket.write(`POST /upload?name=big HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${UPLOAD_BYTES}\r\n\r\n`);
        socket.write(Buffer.alloc(UPLOAD_BYTES, 'u'), () => socket.end());
      };
      const socket = secure
        ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, onConnect)
        : net.connect(port, '127.0.0.1', onConnect);
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('error', (failure: NodeJS.ErrnoException) => (error ??= failure.code ?? failure.message));
      socket.on('close', () => resolve({ bytes: received.length, error, head: received.split('\r\n')[0] ?? '' }));
    }),
    10_000,
    'the upload client to finish',
  );
}

export { http, https };
