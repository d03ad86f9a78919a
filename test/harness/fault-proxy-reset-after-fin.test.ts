// The fault proxy passes on a reset that follows a FIN it already passed on, while nothing is
// written: FIN then RST from the upstream to a half-open client, and from the client to the
// upstream. After a source's FIN libuv reads no more from it, so the proxy heard of the RST only at
// its next write into that socket; with none, the peer across kept a clean FIN ('fin', where the
// same client connected directly sees 'fin-rst', EPIPE), and the link stayed open until the client
// gave up. Found by review, on real sockets.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import type { CloseObservation, FaultConnectionReport, FaultServerOptions, ProxyLinkReport } from '../../lib/harness/index.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { harness } from './load.js';
import { Cleanup, nextReport, steps } from './util.js';

const { createFaultProxy, createFaultServer, observeClose } = harness;
const { inspectSocket } = sockclose;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const RESPONSE = 5000;
// The upstream's FIN, then its RST this long after (a client that stays half-open does not end the pause).
const FIN_TO_RESET_MS = 100;
const TEST_MS = 10_000;

const pendingError = (socket: net.Socket) => inspectSocket(socket).pendingError?.code ?? null;

/** A client that sends a byte, reads everything, and never ends its side. */
async function halfOpenClient(port: number): Promise<{ client: net.Socket; closed: Promise<CloseObservation> }> {
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  cleanup.add({ close: () => client.destroy() });
  const closed = within(observeClose(client), 8000, 'the client to close');
  closed.catch(() => {});
  await nextEvent(client, 'connect');
  client.write('x');
  client.resume();
  return { client, closed };
}

async function finThenResetServer() {
  const options: FaultServerOptions = { behavior: 'fin-then-reset', responseBytes: RESPONSE, delayMs: FIN_TO_RESET_MS, awaitRequest: true };
  const server = cleanup.add(await createFaultServer(options));
  return { server, report: nextReport<FaultConnectionReport>(server) };
}

/** After the server's reset: the client, half-open, holds it pending (EPIPE: the FIN came first). */
async function expectFinThenReset(client: net.Socket, closed: Promise<CloseObservation>): Promise<void> {
  await until(() => pendingError(client) !== null, 3000, 'the reset to reach the client');
  client.destroy();
  expect(await closed).toMatchObject({ peer: 'fin-rst', kernelError: 'EPIPE', bytes: { received: RESPONSE } });
}

describe('FIN then RST from the upstream, to a client that stays half-open', () => {
  it(
    'connected directly (the reference): the client holds EPIPE after the FIN',
    async () => {
      const { server, report } = await finThenResetServer();
      const { client, closed } = await halfOpenClient(server.port);
      expect(steps(await report)).toEqual(['request', 'wrote', 'fin', 'fin-sent', 'reset']);
      await expectFinThenReset(client, closed);
    },
    TEST_MS,
  );

  it(
    'through the fault proxy: the same, and the link ends by the reset',
    async () => {
      const { server, report } = await finThenResetServer();
      const proxy = cleanup.add(await createFaultProxy({ upstream: server.port }));
      const linkReport = nextReport<ProxyLinkReport>(proxy);
      const { client, closed } = await halfOpenClient(proxy.port);
      expect(steps(await report)).toEqual(['request', 'wrote', 'fin', 'fin-sent', 'reset']);
      await expectFinThenReset(client, closed);
      const link = await linkReport;
      expect(link).toMatchObject({ endedBy: 'upstream', bytes: { downstream: RESPONSE } });
      expect(link.upstreamSide).toMatchObject({ peer: 'fin-rst' });
      expect(link.clientSide.local).toBe('fin-rst');
    },
    TEST_MS,
  );
});

describe('FIN then RST from the client, through the fault proxy, to an upstream that never reads', () => {
  it(
    "the upstream gets the FIN, then the reset: 'fin-rst', EPIPE",
    async () => {
      const server = cleanup.add(await createFaultServer({ behavior: 'stall' }));
      const accepted = nextEvent<[number, net.Socket]>(server, 'connection');
      const serverReport = nextReport<FaultConnectionReport>(server);
      const proxy = cleanup.add(await createFaultProxy({ upstream: server.port }));
      const client = net.connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
      cleanup.add({ close: () => client.destroy() });
      await nextEvent(client, 'connect');
      const [, upstream] = await accepted;
      client.end('x');
      // The client's FIN, passed on: the upstream's socket is half-closed by its peer.
      await until(() => inspectSocket(upstream).state === 'CLOSE_WAIT', 3000, "the client's FIN to reach the upstream");
      client.resetAndDestroy();
      await until(() => pendingError(upstream) !== null, 3000, "the client's reset to reach the upstream");
      expect(pendingError(upstream)).toBe('EPIPE');
      await server.close();
      expect((await serverReport).observation).toMatchObject({ peer: 'fin-rst', kernelError: 'EPIPE' });
    },
    TEST_MS,
  );
});
