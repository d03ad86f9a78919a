// A connection the lingering close was draining when the client reset it: the linger ends with
// 'error' (ECONNRESET) and closes the descriptor of a connection that was already over. The audit's
// verdict for that is 'none' ("the peer had reset it before this close"), not a clean FIN.
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';
import { auditedLingeringSeedServer, RESPONSE_BYTES } from './scenarios.js';

type Close = ReturnType<ReturnType<typeof sockclose.auditCloses>['recent']>[number];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function subscribe(name: string, onMessage: (message: unknown) => void): void {
  diagnosticsChannel.subscribe(name, onMessage);
  cleanups.push(() => diagnosticsChannel.unsubscribe(name, onMessage));
}

describe('review: a peer reset during a lingering close', () => {
  it('the client resets while the server lingers: recorded and published as end "none" (reset by the peer), not as a FIN', async () => {
    // Long timeouts: only the client's reset ends this linger.
    const { server, audit, lingering } = await auditedLingeringSeedServer(cleanups);

    let reportSeen: { reason: string; code: string | undefined } | null = null;
    subscribe(sockclose.ChannelNames.lingerEnd, (message) => {
      const { report } = message as { report: { reason: string; error: NodeJS.ErrnoException | null } };
      reportSeen = { reason: report.reason, code: report.error?.code };
    });
    let onClose!: (message: unknown) => void;
    const published = within(new Promise<Close>((resolve) => (onClose = (message) => resolve((message as { close: Close }).close))), 15_000, 'the close published');
    subscribe(sockclose.ChannelNames.auditClose, onClose);

    // The seed 004 client, half-open and reading nothing: the server's 600,000 bytes stay queued,
    // its FIN unanswered, and the linger waits for the client.
    const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true }, () => client.write('spam'));
    client.pause();
    client.on('error', () => {});
    cleanups.push(() => client.destroy());
    await nextEvent(client, 'connect');
    await until(() => lingering.stats().lingering === 1, 5000, 'the server lingering');
    const clientClosed = nextEvent(client, 'close', 5000, 'ignore');
    client.resetAndDestroy();
    await clientClosed;

    const close = await published;
    expect(reportSeen).toEqual({ reason: 'error', code: 'ECONNRESET' });
    // The RST look's byte counts describe no close that happened (corrected-close-fields.test.ts).
    expect(close).toMatchObject({
      end: 'none',
      cause: null,
      bytesWritten: RESPONSE_BYTES,
      lingered: { reason: 'error', closedWith: 'close' },
      unsentBytes: null,
      unackedBytes: null,
      unreceivedBytes: 0,
      remote: null,
    });
    expect(audit.counts()).toMatchObject({ closed: 1, ends: { fin: 0, rst: 0, none: 1, unknown: 0 }, unreadResets: 0, resetsWithData: 0, lingered: 1 });
    expect(audit.summary()).toBe('None of 1 connection ended with an RST that could lose a response (lingering close handled 1).');
  });
});
