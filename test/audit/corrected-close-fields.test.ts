// A close the audit first saw as an RST with input unread, that a lingering close then handled: the
// record is corrected to the linger's end. Its byte counts were taken for that RST; once the close
// was a FIN (or the peer's reset: linger-peer-reset.test.ts), they describe nothing that happened, and the field docs say they
// are null when the close is not an RST: the record must agree with the counters, which count no
// lost bytes for it.
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

/** The next record published on sockclose:audit:close (a corrected close is published, not kept). */
function nextPublished(): Promise<Close> {
  return within(
    new Promise<Close>((resolve) => {
      const onMessage = (message: unknown): void => resolve((message as { close: Close }).close);
      diagnosticsChannel.subscribe(sockclose.ChannelNames.auditClose, onMessage);
      cleanups.push(() => diagnosticsChannel.unsubscribe(sockclose.ChannelNames.auditClose, onMessage));
    }),
    15_000,
    'the close published',
  );
}

const RST_FIELDS_CLEARED = { unsentBytes: null, unackedBytes: null, unreceivedBytes: 0, remote: null };

describe('a close corrected by its linger keeps no RST byte counts', () => {
  it('drained to the client FIN: a FIN in the record, with no unsent, unacknowledged or unreceived bytes', async () => {
    const { server, audit, lingering } = await auditedLingeringSeedServer(cleanups);
    const published = nextPublished();
    // The seed 004 client, reading everything and then ending: the linger drains its 4 unread
    // bytes and ends at its FIN.
    const client = net.connect(portOf(server), '127.0.0.1', () => client.write('spam'));
    client.on('error', () => {});
    cleanups.push(() => client.destroy());
    let received = 0;
    client.on('data', (chunk: Buffer) => (received += chunk.length));
    const ended = nextEvent(client, 'end', 10_000);
    await ended;
    client.end();
    await within(lingering.drained(), 10_000, 'the linger ended');
    await until(() => audit.counts().closed === 1 && audit.counts().lingered === 1, 5000, 'the close counted as lingered');

    expect(received).toBe(RESPONSE_BYTES);
    expect(await published).toMatchObject({ end: 'fin', cause: null, lingered: { reason: 'eof' }, ...RST_FIELDS_CLEARED });
    expect(audit.counts()).toMatchObject({ ends: { fin: 1, rst: 0, none: 0 }, unreceivedBytes: 0, resetsWithData: 0 });
  });
});
