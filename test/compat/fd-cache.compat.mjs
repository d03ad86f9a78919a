// The parts of the fast path's descriptor cache (src/target.ts, liveTcpFd) that rest on how Node
// manages its handles, on every Node line: a connected plain socket's TCP handle is never closed
// while that socket still holds it and is not destroyed (here: a TLS socket wrapping it, in every
// way a TLS connection ends), and a socket connecting through several addresses
// (autoSelectFamily) answers with the descriptor of the handle it ends up with.
import assert from 'node:assert/strict';
import net from 'node:net';
import test from 'node:test';
import tls from 'node:tls';

import { closeAll, closed, listen, nextEvent, portOf, sockclose, testCert } from './helpers.mjs';

/**
 * Watches a plain socket's TCP handle: counts every moment its handle was closed while the socket
 * still held it and was not destroyed (at the microtask after close(), before any other I/O).
 */
function watchHandle(plain) {
  const handle = plain._handle;
  const close = handle.close;
  const seen = { closes: 0, stale: 0 };
  handle.close = function (...args) {
    const result = close.apply(this, args);
    seen.closes += 1;
    queueMicrotask(() => {
      if (!plain.destroyed && plain._handle === handle) seen.stale += 1;
    });
    return result;
  };
  return seen;
}

const endings = {
  'the TLS socket is destroyed': ({ secure }) => secure.destroy(),
  'the TLS socket ends': ({ secure }) => secure.end(),
  'the server ends': ({ peer }) => peer.end(),
  'the server destroys': ({ peer }) => peer.destroy(),
  'the server resets': ({ peer }) => sockclose.hardReset(peer),
  'the plain socket is destroyed': ({ plain }) => plain.destroy(),
};

for (const [name, end] of Object.entries(endings)) {
  test(`TLS over a plain socket, ${name}: the plain socket is destroyed before its handle closes, then refused`, async () => {
    const { key, cert } = testCert();
    const server = await listen(tls.createServer({ key, cert }));
    const accepted = nextEvent(server, 'secureConnection');
    const plain = net.connect(portOf(server), '127.0.0.1');
    plain.on('error', () => {});
    let secure;
    let peer;
    try {
      await nextEvent(plain, 'connect');
      for (let i = 0; i < 1000; i++) sockclose.getLinger(plain); // hot: the descriptor is kept
      const seen = watchHandle(plain);
      secure = tls.connect({ socket: plain, rejectUnauthorized: false });
      secure.on('error', () => {});
      await nextEvent(secure, 'secureConnect');
      [peer] = await accepted;
      peer.on('error', () => {});
      const plainClosed = closed(plain);
      end({ secure, peer, plain });
      await plainClosed; // Node emits it once the handle's close has completed
      // Once or twice: on some lines both sockets call close() on it (the second does nothing).
      assert.ok(seen.closes >= 1, 'the shared handle was closed');
      assert.equal(seen.stale, 0, 'the handle closed while the plain socket still held it, not destroyed');
      assert.throws(() => sockclose.getLinger(plain), { code: 'ERR_SOCKCLOSE_CLOSED' });
      assert.throws(() => sockclose.setLinger(plain, 0), { code: 'ERR_SOCKCLOSE_CLOSED' });
    } finally {
      closeAll(secure, plain, peer, server);
    }
  });
}

test('a socket connecting through several addresses answers with the descriptor of its final handle', async () => {
  // Listening on 127.0.0.1 only, with a lookup that gives ::1 first: autoSelectFamily tries ::1
  // (refused, or unreachable without IPv6), then 127.0.0.1, each attempt on a handle of its own.
  // (Node 18.12 has no autoSelectFamily: one attempt.)
  const server = await listen(net.createServer((socket) => socket.on('error', () => {})));
  const lookup = (_host, options, callback) => {
    if (options.all) callback(null, [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  };
  const client = net.connect({ host: 'sockclose.test', port: portOf(server), lookup, autoSelectFamily: true, autoSelectFamilyAttemptTimeout: 10 });
  client.on('error', () => {});
  try {
    let calls = 0;
    const connected = nextEvent(client, 'connect');
    // Ask on every turn of the loop while it connects: nothing must be kept from an attempt.
    await new Promise((resolve) => {
      const ask = () => {
        calls += 1;
        try {
          sockclose.getLinger(client);
        } catch (error) {
          assert.equal(error.code, 'ERR_SOCKCLOSE_NO_FD', String(error));
        }
        if (client.connecting && calls < 10_000) setImmediate(ask);
        else resolve();
      };
      ask();
    });
    await connected;
    if (client.autoSelectFamilyAttemptedAddresses !== undefined) {
      assert.deepEqual(client.autoSelectFamilyAttemptedAddresses, [`::1:${portOf(server)}`, `127.0.0.1:${portOf(server)}`]);
    }
    assert.equal(sockclose.inspectSocket(client).fd, client._handle.fd);
    sockclose.setLinger(client, 0);
    assert.deepEqual(sockclose.getLinger(sockclose.socketFd(client)), { enabled: true, seconds: 0, emulated: false });
  } finally {
    closeAll(client, server);
  }
});
