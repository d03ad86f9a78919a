// Our FIN, answered by the peer's RST at once (a peer that resets when it reads EOF), before Node
// emits 'finish': the look at 'finish' finds the connection CLOSE with ECONNRESET pending, no
// FIN_WAIT state ever seen. observeClose() took that for Node's shutdown on a connection an RST
// had already closed (which sends nothing) and said local 'none'; the wire said FIN, then RST
// (tcpdump: [F.] seq 6, then [R.] ack 7; the Python peer read EOF). On a loaded machine 3 runs of
// 4 hit it without help; here a 'finish' listener placed before the observer's waits until the
// RST is in, which makes the race certain. Our FIN takes a sequence number, which the kernel's
// counts (acknowledged, unacknowledged, unsent) show even in CLOSE: that decides it now.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import type { CloseObservation } from '../../lib/harness/index.js';
import { kernelServer, type KernelServer } from '../helpers/kernel-server.js';
import { tempDir } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCertFiles } from '../helpers/tls.js';
import { nextEvent, untilSync, within } from '../helpers/wait.js';
import { harness } from './load.js';
import { judge, look, moments, node } from './verdict-looks.js';

const { inspectSocket } = sockclose;
const { observeClose } = harness;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const TEST_MS = 10_000;

/**
 * Holds the loop at 'finish', before observeClose() looks, until the peer's RST has closed the
 * connection (bounded: fails loudly). The RST answers our FIN, so it can only come after it.
 */
function holdFinishUntilReset(socket: net.Socket): void {
  socket.prependOnceListener('finish', () => untilSync(() => inspectSocket(socket).state === 'CLOSE', 5000, "the peer's RST"));
}

/** Our FIN then the peer's RST, however late the look at 'finish' came. */
function expectFinThenReset(o: CloseObservation): void {
  expect(o.snapshots.find((s) => s.at === 'finish')).toMatchObject({ state: 'CLOSE', pendingError: 'ECONNRESET' });
  expect(o).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET', local: 'fin', initiator: 'local' });
  expect(o.timings.localEndMs).not.toBeNull();
}

async function peerResettingAtEof(options: { tls?: { cert: string; key: string } } = {}): Promise<KernelServer> {
  const peer = await kernelServer({ ...options, resetAtEof: true });
  cleanups.push(() => peer.kill());
  return peer;
}

describe("our FIN answered by the peer's RST before Node's 'finish': local is fin", () => {
  it(
    'a net client: end() with data, the peer reads EOF and resets',
    async () => {
      const peer = await peerResettingAtEof();
      const client = net.connect({ port: peer.port, host: '127.0.0.1', allowHalfOpen: true });
      cleanups.push(() => client.destroy());
      const observed = within(observeClose(client), 5000, 'the client to close');
      holdFinishUntilReset(client);
      await nextEvent(client, 'connect');
      client.end('hello');
      client.resume();
      // The peer read our 5 bytes and then EOF: our FIN reached it.
      expect(await peer.result).toEqual({ received: 5, end: 'eof' });
      // Half-open, nothing more to read or write: the reset is ours to notice.
      if (!client.destroyed) await nextEvent(client, 'close', 5000, 'ignore');
      expectFinThenReset(await observed);
    },
    TEST_MS,
  );

  it(
    'a TLS client: close_notify and FIN, the peer reads EOF and resets (the count is of TLS records)',
    async () => {
      const files = tempDir('sockclose-tls-');
      cleanups.push(() => fs.rmSync(files, { recursive: true, force: true }));
      const { keyFile, certFile } = testCertFiles(files);
      const peer = await peerResettingAtEof({ tls: { cert: certFile, key: keyFile } });
      const client = tls.connect({ port: peer.port, host: '127.0.0.1', rejectUnauthorized: false, allowHalfOpen: true });
      cleanups.push(() => client.destroy());
      client.on('error', () => {});
      const observed = within(observeClose(client), 5000, 'the client to close');
      holdFinishUntilReset(client);
      await nextEvent(client, 'secureConnect');
      client.end('hello');
      client.resume();
      expect(await peer.result).toEqual({ received: 5, end: 'eof' });
      if (!client.destroyed) await nextEvent(client, 'close', 5000, 'ignore');
      const o = await observed;
      // close_notify may reach the peer before our FIN, its RST before our shutdown(2): the
      // FIN left exactly when the kernel counted it queued; either way the verdict says so.
      const atFinish = o.snapshots.find((s) => s.at === 'finish')!;
      expect(typeof atFinish.finQueued).toBe('boolean');
      expect(o.local).toBe(atFinish.finQueued === true ? 'fin' : 'none');
      expect(o).toMatchObject({ peer: 'rst', kernelError: 'ECONNRESET' });
    },
    TEST_MS,
  );
});

describe("judge(): a look in CLOSE that counted our FIN's sequence number", () => {
  const verdict = (finQueued: boolean | null, unsent = 0) =>
    judge(
      [
        // Taken right after Node's 'finish' (at 2): the reset was found then.
        look('finish', 2.05, { state: 'CLOSE', err: 'ECONNRESET', fin: false, finQueued, unsent }),
        look('destroy', 3, { state: 'CLOSE', fin: false, finQueued, unsent }),
      ],
      node({ finished: true, destroyedWithoutError: true }),
      moments({ finish: 2, destroy: 3 }),
    );

  it("queued, nothing unsent: it left before the reset, 'fin'", () => {
    expect(verdict(true)).toMatchObject({ peer: 'rst', local: 'fin', initiator: 'local', localEndMs: 2 });
  });

  it("not queued (shutdown(2) on a connection the RST had closed: ENOTCONN), or unknown: 'none'", () => {
    expect(verdict(false).local).toBe('none');
    expect(verdict(null).local).toBe('none');
  });

  it("queued behind unsent bytes when the reset came: it never left, 'none'", () => {
    expect(verdict(true, 1).local).toBe('none');
  });
});
