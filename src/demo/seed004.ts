// The seed 004 scenario (../shared/seeds/004): a server sends 600,000 bytes on each connection and
// closes; the client first sent 4 bytes that the server never reads. One mode at a time, on
// loopback, with Node's own client judged by the kernel (peekSocketError) as well as by Node.
import net from 'node:net';

import { hardReset } from '../hard-reset.js';
import { enableLingeringClose } from '../lingering/index.js';
import { peekSocketError } from '../socket-error.js';
import { timeWaitOnLocalPort } from './time-wait.js';
import type { DemoMode, DemoModeResult } from './types.js';

export const RESPONSE_BYTES = 600_000;
export const UNREAD_BYTES = 4;
const RUN_TIMEOUT_MS = 10_000;

const LABELS: Record<DemoMode, string> = { plain: 'plain close', hardReset: 'hardReset', lingering: 'lingering close' };

/** One connection as the client saw it. */
interface RunOutcome {
  bytes: number;
  /** 'fin': a clean end the kernel confirms; 'reset': an RST; `hidden`: Node called it a clean end. */
  end: 'fin' | 'reset';
  hidden: boolean;
}

/**
 * The server for `mode`: writes the response, then closes the way the mode says. `drained()`
 * resolves once its lingering closes have ended (at once for the other modes).
 */
function createServer(mode: DemoMode, payload: Buffer): { server: net.Server; disable: () => void; drained: () => Promise<void> } {
  // pauseOnConnect: the server never reads the request, as the seed's C server.
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    socket.write(payload);
    if (mode === 'hardReset') hardReset(socket);
    else socket.destroySoon(); // what Node's http server does after a `Connection: close` response
  });
  if (mode !== 'lingering') return { server, disable: () => {}, drained: () => Promise.resolve() };
  const control = enableLingeringClose(server);
  return { server, disable: control, drained: () => control.drained() };
}

function connectOnce(port: number, clientPorts: Set<number>): Promise<RunOutcome> {
  return new Promise((resolve) => {
    let bytes = 0;
    let settled = false;
    const client = net.connect(port, '127.0.0.1', () => {
      clientPorts.add(client.localPort!);
      client.write(Buffer.alloc(UNREAD_BYTES, 'x'));
    });
    const settle = (outcome: RunOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => settle({ bytes, end: 'reset', hidden: false }), RUN_TIMEOUT_MS);
    client.on('data', (chunk: Buffer) => (bytes += chunk.length));
    client.on('end', () => {
      // Node says the peer ended cleanly; ask the kernel (libuv often reports an RST as an EOF).
      let pending: Error | null = null;
      try {
        pending = peekSocketError(client);
      } catch {
        pending = null; // no native binary: Node's word is all there is
      }
      settle({ bytes, end: pending ? 'reset' : 'fin', hidden: pending !== null });
    });
    client.on('error', () => settle({ bytes, end: 'reset', hidden: false }));
    client.on('close', () => settle({ bytes, end: 'reset', hidden: false }));
  });
}

/** Runs `runs` connections against a server closing the `mode` way. */
export async function runMode(mode: DemoMode, runs: number, onRun: () => void): Promise<DemoModeResult> {
  const payload = Buffer.alloc(RESPONSE_BYTES, 'x');
  const { server, disable, drained } = createServer(mode, payload);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const result: DemoModeResult = {
    mode,
    label: LABELS[mode],
    runs,
    completeRuns: 0,
    meanBytes: 0,
    endedWithFin: 0,
    endedWithReset: 0,
    resetsNodeCalledClean: 0,
    timeWaitLeft: null,
    failures: 0,
  };
  const clientPorts = new Set<number>();
  try {
    let total = 0;
    for (let run = 0; run < runs; run++) {
      const outcome = await connectOnce(port, clientPorts);
      total += outcome.bytes;
      if (outcome.bytes === RESPONSE_BYTES) result.completeRuns += 1;
      if (outcome.end === 'fin') result.endedWithFin += 1;
      else result.endedWithReset += 1;
      if (outcome.hidden) result.resetsNodeCalledClean += 1;
      if (outcome.bytes !== RESPONSE_BYTES || outcome.end !== 'fin') result.failures += 1;
      onRun();
    }
    result.meanBytes = runs > 0 ? Math.round(total / runs) : 0;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // Node lets go of a socket as the native lingerer takes it over: its lingers may still run.
    // Ended here, the demo's own process (the CLI exits right after) never cuts one short.
    await drained();
    disable();
  }
  // Counted once the server has closed every connection (its 'close' waits for the lingering ones).
  result.timeWaitLeft = timeWaitOnLocalPort(port, clientPorts);
  return result;
}
