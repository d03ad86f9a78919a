// The scenario of the notes' "Real clients and proxies" table: a Node http server that answers at
// once with `Connection: close` and never reads the client's upload. Node's plain close then
// leaves the upload unread in the kernel, which answers it with RST; enableLingeringClose drains
// it instead. The same server runs both ways, so a control differs from its lingering run only
// in that one call.
import http from 'node:http';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';

/** The short answer to an upload: what every client must receive whole. */
export const TOO_LARGE_BODY = 'upload refused without reading it\nBODY-END\n';

/** The long answer of the curl GET case: 600,000 bytes, patterned so that a cut or a shift shows. */
export const BIG_ANSWER = Buffer.from(Array.from({ length: 600_000 }, (_, i) => 97 + (i % 26)));

export type Answer = 'too-large' | 'big';

/** A listening server and what it saw. */
export interface UploadServer {
  port: number;
  /** Requests the handler answered. */
  requests(): number;
  /**
   * Once no socket lingers (within 10 s): how the lingering closes ended, the reasons that
   * occurred and their counts (`{ eof: 20 }`); `{}` for a plain server.
   */
  lingerReasons(): Promise<Record<string, number>>;
  /** Closes its lingering close found needed no linger (mode 'as-needed'); 0 for a plain server. */
  notNeeded(): number;
  close(): Promise<void>;
}

/**
 * Starts the server on 127.0.0.1. `'too-large'`: 413 with TOO_LARGE_BODY; `'big'`: 200 with
 * BIG_ANSWER. `lingering`: with enableLingeringClose(server) (in `mode`), or plain Node (the control).
 */
export async function startUploadServer(answer: Answer, lingering: boolean, mode: 'always' | 'as-needed' = 'always'): Promise<UploadServer> {
  let requests = 0;
  const server = http.createServer((_req, res) => {
    requests += 1;
    // The upload is never read: the answer goes out at once and the connection closes.
    if (answer === 'too-large') res.writeHead(413, { Connection: 'close', 'Content-Type': 'text/plain' }).end(TOO_LARGE_BODY);
    else res.writeHead(200, { Connection: 'close', 'Content-Type': 'application/octet-stream' }).end(BIG_ANSWER);
  });
  const disable = lingering ? sockclose.enableLingeringClose(server, { mode }) : undefined;
  await listen(server);
  return {
    port: portOf(server),
    requests: () => requests,
    lingerReasons: async () => {
      if (!disable) return {};
      await within(disable.drained(), 10_000, 'every lingering close of the server to end');
      return Object.fromEntries(Object.entries(disable.stats().reasons).filter(([, count]) => count > 0));
    },
    notNeeded: () => disable?.stats().notNeeded ?? 0,
    close: async () => {
      await closeServer(server);
      disable?.();
    },
  };
}
