// The lingering close on every Node line sockclose claims. It reaches further into Node than any
// other feature (http's close paths, the socket's destroy and final steps, the handle it hands to
// the native lingerer, TLS's close_notify), and the vitest suite (test/lingering) runs only where
// vitest 4 does (Node >= 20.19): without this file, Node 18 and every line's first LTS release
// would never run a linger. Each test is one close path, judged by what the peer got and by the
// report; the vitest suite holds the bounds, the hostile peers and the kernel-level clients.
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import test from 'node:test';
import tls from 'node:tls';

import { closeAll, closed, listen, nextEvent, portOf, sockclose, STEP_MS, testCert, until, within } from './helpers.mjs';

const { enableLingeringClose, lingeringClose, inspectSocket, peekSocketError } = sockclose;

const UPLOAD = 4 * 1024 * 1024;
const BODY = 'request entity too large\n';

/** What a client socket saw: everything it read, whether our FIN came, any error (a reset shows here). */
function watch(socket) {
  const seen = { text: '', ended: false, error: null };
  socket.setEncoding('latin1');
  socket.on('data', (chunk) => {
    seen.text += chunk;
  });
  socket.on('end', () => {
    seen.ended = true;
  });
  socket.on('error', (error) => {
    seen.error = error;
  });
  return { socket, seen, done: closed(socket) };
}

/** A raw TCP client of `port`, watched. */
function rawClient(port, { allowHalfOpen = false } = {}) {
  return watch(net.connect({ port, host: '127.0.0.1', allowHalfOpen }));
}

/** An http(s) server under enableLingeringClose, its reports queued; `stop()` closes it. */
async function lingeringServer(server, handler, options = {}) {
  const reports = [];
  const waiting = [];
  const urls = [];
  server.on('request', (req, res) => {
    urls.push(req.url);
    handler(req, res);
  });
  const control = enableLingeringClose(server, {
    ...options,
    onReport(report) {
      const next = waiting.shift();
      if (next) next(report);
      else reports.push(report);
    },
  });
  await listen(server);
  const nextReport = () =>
    within(
      reports.length > 0 ? Promise.resolve(reports.shift()) : new Promise((resolve) => waiting.push(resolve)),
      STEP_MS,
      'the next linger report',
    );
  const stop = async () => {
    control();
    server.closeAllConnections?.();
    server.close();
    await within(control.drained(), STEP_MS, 'every linger of the server to end');
  };
  return { server, control, port: portOf(server), nextReport, urls, stop };
}

function answer413(req, res) {
  res.writeHead(413, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(BODY), Connection: 'close' });
  res.end(BODY);
}

test('http, Connection: close: a 413 to a 4 MB upload never read arrives whole, the body is drained', async () => {
  const started = await lingeringServer(http.createServer(), answer413);
  try {
    const { socket, seen, done } = rawClient(started.port);
    await nextEvent(socket, 'connect');
    socket.write(`POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${UPLOAD}\r\n\r\n`);
    // The whole body, then FIN: the server answered long before, and a plain close would reset.
    socket.end(Buffer.alloc(UPLOAD, 0x61));
    await done;
    assert.equal(seen.error, null, `the client got ${seen.error?.code}: the response could be lost`);
    assert.match(seen.text, /^HTTP\/1\.1 413 /);
    assert.ok(seen.text.endsWith(BODY), 'the whole response body');
    assert.equal(seen.ended, true);

    const report = await started.nextReport();
    assert.equal(report.reason, 'eof');
    assert.equal(report.closedWith, 'close');
    assert.ok(report.drainedBytes > 0, `drained ${report.drainedBytes} B of the unread body`);
    assert.deepEqual(started.urls, ['/upload']);
    const stats = started.control.stats();
    assert.equal(stats.reasons.eof, 1);
    assert.equal(stats.drainedBytes, report.drainedBytes);
  } finally {
    await started.stop();
  }
});

test('http, keep-alive timeout: a request sent as the server closes is drained, never handled, never reset', async () => {
  const started = await lingeringServer(http.createServer({ keepAliveTimeout: 100 }), (req, res) => res.end('ok\n'));
  try {
    const { socket, seen, done } = rawClient(started.port, { allowHalfOpen: true });
    await nextEvent(socket, 'connect');
    socket.write('GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n');
    // The server's FIN comes at its keep-alive timeout; the late request crosses it.
    await nextEvent(socket, 'end');
    const late = 'GET /late HTTP/1.1\r\nHost: localhost\r\n\r\n';
    socket.end(late);
    await done;
    assert.equal(seen.error, null, `the client got ${seen.error?.code}`);
    assert.match(seen.text, /^HTTP\/1\.1 200 [\s\S]*ok\n$/);

    const report = await started.nextReport();
    assert.equal(report.reason, 'eof');
    assert.equal(report.drainedBytes, late.length);
    assert.equal(report.closedWith, 'close');
    assert.deepEqual(started.urls, ['/first']);
  } finally {
    await started.stop();
  }
});

test('https, Connection: close: the response and close_notify arrive before our FIN, then the linger ends at the peer', async () => {
  const started = await lingeringServer(https.createServer(testCert()), (req, res) => {
    res.setHeader('Connection', 'close');
    res.end('secure\n');
  });
  try {
    const { socket, seen, done } = watch(tls.connect({ port: started.port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false }));
    await nextEvent(socket, 'secureConnect');
    socket.write('GET /tls HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await done;
    assert.equal(seen.error, null, `the TLS client got ${seen.error?.code}`);
    assert.match(seen.text, /^HTTP\/1\.1 200 [\s\S]*secure\n$/);

    const report = await started.nextReport();
    assert.equal(report.reason, 'eof');
    assert.equal(report.closedWith, 'close');
  } finally {
    await started.stop();
  }
});

test('lingeringClose(socket) of a net socket: what we wrote arrives, what the peer still sends is drained', async () => {
  const listener = await listen(net.createServer());
  try {
    const accepted = nextEvent(listener, 'connection');
    const { socket, seen, done } = rawClient(portOf(listener), { allowHalfOpen: true });
    await nextEvent(socket, 'connect');
    const [server] = await accepted;
    server.pause();
    socket.write('unread by the server\n');
    server.write('bye\n');
    const report = lingeringClose(server);
    await nextEvent(socket, 'end');
    socket.end('sent after our FIN\n');
    await done;
    const result = await within(report, STEP_MS, "lingeringClose()'s report");
    assert.equal(seen.error, null, `the client got ${seen.error?.code}`);
    assert.equal(seen.text, 'bye\n');
    assert.equal(result.reason, 'eof');
    assert.equal(result.drainedBytes, 'unread by the server\n'.length + 'sent after our FIN\n'.length);
  } finally {
    closeAll(listener);
  }
});

test('lingeringClose(socket) of a silent peer ends at the idle timeout with RST', async () => {
  const listener = await listen(net.createServer());
  try {
    const accepted = nextEvent(listener, 'connection');
    const client = net.connect({ port: portOf(listener), host: '127.0.0.1' });
    // Paused: Node never reads it, so the reset stays pending in the kernel for us to see.
    client.pause();
    client.on('error', () => {});
    await nextEvent(client, 'connect');
    const [server] = await accepted;
    const result = await within(lingeringClose(server, { idleTimeout: 200 }), STEP_MS, "lingeringClose()'s report");
    assert.equal(result.reason, 'idle-timeout');
    assert.equal(result.closedWith, 'reset');
    await until(() => inspectSocket(client).state === 'CLOSE', 'the client sees the RST');
    // Our FIN went first (the linger began with it), so the kernel files the RST as EPIPE.
    assert.equal(peekSocketError(client).code, 'EPIPE');
    client.destroy();
  } finally {
    closeAll(listener);
  }
});
