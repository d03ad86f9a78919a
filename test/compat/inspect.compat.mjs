// Inspection, half-close and linger on every Node line: the queues and states the kernel reports,
// shutdownWrite() through Node's end(), and the emulated linger, which hooks the socket's
// _destroy() and so depends on Node's stream internals.
import assert from 'node:assert/strict';
import net from 'node:net';
import test from 'node:test';

import { closeAll, closed, listen, nextEvent, portOf, sockclose, tcpPair, until } from './helpers.mjs';

test('inspectSocket: unread input, closeWouldReset, the peer FIN as CLOSE_WAIT', async () => {
  const { client, server, listener } = await tcpPair();
  try {
    assert.equal(sockclose.closeWouldReset(client), false);
    server.write(Buffer.alloc(100, 1));
    await until(() => sockclose.inspectSocket(client).unreadBytes === 100, '100 bytes wait in the client');
    assert.equal(sockclose.closeWouldReset(client), true);
    const inspection = sockclose.inspectSocket(client);
    assert.equal(inspection.state, 'ESTABLISHED');
    assert.equal(inspection.fd, sockclose.socketFd(client));
    assert.equal(inspection.pendingError, null);
    assert.equal(inspection.pendingErrorKnown, true);
    assert.deepEqual(inspection.linger, { enabled: false, seconds: 0, emulated: false });
    assert.equal(typeof inspection.tcp.bytesReceived, 'number');
    await until(() => sockclose.inspectSocket(server).unackedBytes === 0, 'the server sees its bytes acknowledged');
    server.end();
    await until(() => sockclose.inspectSocket(client).state === 'CLOSE_WAIT', 'the client sees the FIN');
  } finally {
    closeAll(client, server, listener);
  }
});

test('shutdownWrite: the peer gets every queued byte, then EOF, and can still answer', async () => {
  const { client, server, listener } = await tcpPair('127.0.0.1', { allowHalfOpen: true });
  try {
    const size = 1 << 20;
    let received = 0;
    client.on('data', (chunk) => {
      received += chunk.length;
    });
    const ended = nextEvent(client, 'end');
    client.resume();
    server.write(Buffer.alloc(size, 2));
    await sockclose.shutdownWrite(server);
    await ended;
    assert.equal(received, size);
    const answer = nextEvent(server, 'data');
    client.end('still open');
    const [chunk] = await answer;
    assert.equal(chunk.toString(), 'still open');
  } finally {
    closeAll(client, server, listener);
  }
});

test('setLinger(n > 0) on a socket is emulated: destroy() waits for the ack without blocking', async () => {
  const { client, server, listener } = await tcpPair();
  let ticker;
  try {
    sockclose.setLinger(server, 5);
    assert.deepEqual(sockclose.getLinger(server), { enabled: true, seconds: 5, emulated: true });
    assert.equal(sockclose.inspectSocket(server).linger.emulated, true);
    // The client reads nothing: 16 MB cannot fit in the two socket buffers, so Node and the
    // kernel still hold unsent data while the socket is destroyed.
    server.write(Buffer.alloc(16 << 20, 3));
    let serverHasClosed = false;
    const serverClosed = closed(server, 10_000).then(() => {
      serverHasClosed = true;
    });
    let ticks = 0;
    ticker = setInterval(() => ticks++, 1);
    server.destroy();
    assert.equal(server.destroyed, true);
    await until(() => ticks >= 20, 'the event loop keeps running while the close lingers');
    assert.equal(serverHasClosed, false, "'close' came before the data was acknowledged");
    client.resume();
    await serverClosed;
    await closed(client);
  } finally {
    clearInterval(ticker);
    closeAll(client, server, listener);
  }
});

test('a positive linger on a raw descriptor needs { blocking: true }', async () => {
  const { client, server, listener } = await tcpPair();
  try {
    const fd = sockclose.socketFd(server);
    assert.throws(() => sockclose.setLinger(fd, 5), { code: 'ERR_SOCKCLOSE_BLOCKING_LINGER' });
    sockclose.setLinger(fd, 5, { blocking: true });
    assert.deepEqual(sockclose.getLinger(fd), { enabled: true, seconds: 5, emulated: false });
    sockclose.setLinger(fd, false);
    assert.equal(sockclose.getLinger(fd).enabled, false);
  } finally {
    closeAll(client, server, listener);
  }
});

test('peekSocketError on a socket still connecting: ERR_SOCKCLOSE_NO_FD, then null once connected', async () => {
  const listener = await listen(net.createServer());
  const client = net.connect(portOf(listener), '127.0.0.1');
  try {
    assert.throws(() => sockclose.peekSocketError(client), { code: 'ERR_SOCKCLOSE_NO_FD' });
    await nextEvent(client, 'connect');
    assert.equal(sockclose.peekSocketError(client), null);
  } finally {
    closeAll(client, listener);
  }
});
