// hardReset through every kind of Node socket whose internals sockclose reads (net, TLS on both
// sides, http, the http2 socket proxy, after end(), while connecting). These are the paths most
// likely to break when Node changes its handles, so they run on every Node line.
//
// The proof of a reset is the kernel's: a paused peer's socket holds ECONNRESET/EPIPE pending, and
// `ss` shows nothing left of the connection, where a FIN close (the control) leaves TIME-WAIT.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import test from 'node:test';
import tls from 'node:tls';

import { closeAll, closed, connectionGone, connectionRows, listen, nextEvent, portOf, sockclose, tcpPair, testCert, until } from './helpers.mjs';

test('control: a FIN close leaves TIME-WAIT on the side that closed first', async () => {
  const { client, server, listener, port } = await tcpPair();
  const clientPort = client.localPort;
  try {
    server.destroy();
    await until(() => sockclose.inspectSocket(client).state === 'CLOSE_WAIT', 'the client sees the FIN');
    client.destroy();
    await until(() => connectionRows(port, clientPort).some((row) => row.startsWith(`TIME-WAIT 127.0.0.1:${port} `)), 'TIME-WAIT on the server side');
  } finally {
    closeAll(client, server, listener);
  }
});

test('hardReset of a TCP socket: the peer holds ECONNRESET, nothing is left of the connection', async () => {
  const { client, server, listener, port } = await tcpPair();
  const clientPort = client.localPort;
  try {
    const serverClosed = nextEvent(server, 'close');
    sockclose.hardReset(server);
    await serverClosed;
    await until(() => sockclose.inspectSocket(client).state === 'CLOSE', 'the client sees the RST');
    assert.equal(sockclose.peekSocketError(client).code, 'ECONNRESET');
    assert.equal(sockclose.peekSocketError(client).code, 'ECONNRESET');
    assert.equal(sockclose.takeSocketError(client).code, 'ECONNRESET');
    assert.equal(sockclose.takeSocketError(client), null);
    client.destroy();
    await nextEvent(client, 'close');
    await connectionGone(port, clientPort);
  } finally {
    closeAll(client, server, listener);
  }
});

test('hardReset after end(): the FIN went first, so the peer holds EPIPE', async () => {
  const { client, server, listener, port } = await tcpPair();
  const clientPort = client.localPort;
  try {
    server.end();
    await until(() => sockclose.inspectSocket(client).state === 'CLOSE_WAIT', 'the client sees the FIN');
    sockclose.hardReset(server);
    await until(() => sockclose.inspectSocket(client).state === 'CLOSE', 'the client sees the RST');
    assert.equal(sockclose.peekSocketError(client).code, 'EPIPE');
    client.destroy();
    await nextEvent(client, 'close');
    await connectionGone(port, clientPort);
  } finally {
    closeAll(client, server, listener);
  }
});

test('hardReset of a socket still connecting resets it once connected', async () => {
  // pauseOnConnect: the accepted socket never reads, so the RST stays pending in its kernel socket.
  const listener = await listen(net.createServer({ pauseOnConnect: true }));
  const accepted = nextEvent(listener, 'connection');
  const client = net.connect(portOf(listener), '127.0.0.1');
  try {
    assert.equal(client.connecting, true);
    sockclose.hardReset(client);
    const [server] = await accepted;
    const clientPort = server.remotePort;
    await nextEvent(client, 'close');
    await until(() => sockclose.inspectSocket(server).state === 'CLOSE', 'the server side sees the RST');
    // The kernel's own value (SO_ERROR): what the reset left, read once.
    assert.equal(sockclose.takeSocketError(server).code, 'ECONNRESET');
    server.destroy();
    await nextEvent(server, 'close');
    await connectionGone(portOf(listener), clientPort);
  } finally {
    closeAll(client, listener);
  }
});

test('hardReset of TLS sockets, server side and client side: nothing is left of the connection', async () => {
  const { key, cert } = testCert();
  for (const side of ['server', 'client']) {
    const listener = await listen(tls.createServer({ key, cert }));
    const secured = nextEvent(listener, 'secureConnection');
    const client = tls.connect({ port: portOf(listener), host: '127.0.0.1', ca: cert, servername: 'localhost' });
    client.on('error', () => {});
    try {
      await nextEvent(client, 'secureConnect');
      const clientPort = client.localPort;
      const [server] = await secured;
      server.on('error', () => {});
      assert.equal(sockclose.inspectSocket(server).state, 'ESTABLISHED');
      const [resetting, peer] = side === 'server' ? [server, client] : [client, server];
      const bothClosed = Promise.all([closed(resetting), closed(peer)]);
      sockclose.hardReset(resetting);
      await bothClosed;
      await connectionGone(portOf(listener), clientPort);
    } finally {
      closeAll(client, listener);
    }
  }
});

test('http: socketFd of a request, and hardReset from a handler', async () => {
  let fd = -1;
  let clientPort = -1;
  const listener = await listen(
    http.createServer((req, res) => {
      fd = sockclose.socketFd(req.socket);
      clientPort = req.socket.remotePort;
      assert.equal(sockclose.socketFd(res.socket), fd);
      sockclose.hardReset(req.socket);
    }),
  );
  try {
    const request = http.get({ host: '127.0.0.1', port: portOf(listener), agent: false });
    const [error] = await nextEvent(request, 'error');
    assert.equal(error.code, 'ECONNRESET');
    assert.ok(fd > 2);
    await closed(request.socket);
    await connectionGone(portOf(listener), clientPort);
  } finally {
    closeAll(listener);
  }
});

test('http2: the session socket is a proxy; sockclose reaches the real socket through it', async () => {
  const listener = await listen(http2.createServer());
  let rawFd = -1;
  let clientPort = -1;
  listener.on('connection', (socket) => {
    rawFd = sockclose.socketFd(socket);
    clientPort = socket.remotePort;
  });
  const streamed = nextEvent(listener, 'stream');
  const session = http2.connect(`http://127.0.0.1:${portOf(listener)}`);
  session.on('error', () => {});
  try {
    const request = session.request({ ':path': '/' });
    request.on('error', () => {});
    const [stream] = await streamed;
    const proxy = stream.session.socket;
    assert.equal(sockclose.socketFd(proxy), rawFd);
    assert.equal(sockclose.inspectSocket(proxy).state, 'ESTABLISHED');
    const sessionClosed = closed(session);
    sockclose.hardReset(proxy);
    await sessionClosed;
    await connectionGone(portOf(listener), clientPort);
  } finally {
    session.destroy();
    closeAll(listener);
  }
});
