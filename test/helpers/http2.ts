// One HTTP/2 request on a client session, answered in full: its status and body, once the stream
// closed (within `timeoutMs`, else the test fails naming it).
import type http2 from 'node:http2';

import { within } from './wait.js';

/** The response to one GET of `path` on `client`: `:status` and the body as text. */
export async function http2Get(client: http2.ClientHttp2Session, path = '/', timeoutMs = 10_000): Promise<{ status: number | undefined; body: string }> {
  const request = client.request({ ':path': path });
  let status: number | undefined;
  let body = '';
  request.on('response', (headers) => (status = headers[':status']));
  request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
  request.on('error', () => undefined);
  await within(new Promise((resolve) => request.on('close', resolve)), timeoutMs, `the response to ${path}`);
  return { status, body };
}
