// Sockets a server was given rather than accepted (`server.emit('connection', socket)`: a net
// server handing its sockets to an http server, TLS terminated by one server and served by
// another, a socket made elsewhere): audited by the server they were given to, and by the one that
// accepted them when it is audited too, once each. Real loopback sockets.
import { execFileSync } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, tcpPair } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, within } from '../helpers/wait.js';
import { uploadClient, uploadHandler } from './scenarios.js';

type Audit = ReturnType<typeof sockclose.auditCloses>;
type Close = ReturnType<Audit['recent']>[number];
interface Message {
  close: Close;
  socket: net.Socket;
  server: net.Server;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function audit(server: net.Server): Audit {
  const started = sockclose.auditCloses(server);
  cleanups.push(() => started.stop());
  return started;
}

async function listening<S extends net.Server>(server: S): Promise<number> {
  await listen(server);
  cleanups.push(() => closeServer(server));
  return portOf(server);
}

/** Every message published on sockclose:audit:close during the test. */
function published(): Message[] {
  const seen: Message[] = [];
  const onClose = (message: unknown) => seen.push(message as Message);
  diagnosticsChannel.subscribe(sockclose.ChannelNames.auditClose, onClose);
  cleanups.push(() => diagnosticsChannel.unsubscribe(sockclose.ChannelNames.auditClose, onClose));
  return seen;
}

/** Resolves once the next socket `server` is given (or accepts) has closed: its close was looked at by then. */
function nextSocketClosed(server: net.Server, event = 'connection'): Promise<unknown> {
  return nextEvent<[net.Socket]>(server, event, 10_000).then(([socket]) => nextEvent(socket, 'close', 10_000, 'ignore'));
}

/** An http GET with `Connection: close` over a raw socket (or TLS): the response's text. */
function get(port: number, urlPath: string, secure = false): Promise<string> {
  return within(
    new Promise<string>((resolve, reject) => {
      const request = `GET ${urlPath} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;
      const socket = secure
        ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => socket.write(request))
        : net.connect(port, '127.0.0.1', () => socket.write(request));
      let text = '';
      socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
      socket.on('error', reject).on('close', () => resolve(text));
    }),
    10_000,
    `GET ${urlPath}`,
  );
}

describe('auditCloses and sockets given to a server', () => {
  it('a net server given sockets (accepted by another, unaudited, server, or made elsewhere): its audit records their closes', async () => {
    const target = net.createServer((socket) => {
      socket.on('error', () => {});
      // Closed at once, inside the 'connection' event that gave it.
      socket.destroy();
    });
    const counted = audit(target);
    const messages = published();
    const front = net.createServer((socket) => target.emit('connection', socket));
    const port = await listening(front);
    // 1. Accepted by the front server, handed over.
    let closed = nextSocketClosed(target);
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => {});
    client.resume();
    cleanups.push(() => client.destroy());
    await closed;
    expect(counted.counts()).toMatchObject({ closed: 1, ends: { fin: 1 } });
    // 2. A socket no server accepted (`socket.server` unset): a client's own end of a connection.
    const pair = await tcpPair();
    cleanups.push(() => closeServer(pair.listener), () => pair.server.destroy());
    closed = nextSocketClosed(target);
    target.emit('connection', pair.client);
    await closed;
    expect(counted.counts()).toMatchObject({ closed: 2, ends: { fin: 2 } });
    expect(messages.map((message) => message.server)).toEqual([target, target]);
    expect(messages[1]!.socket).toBe(pair.client);
  });

  it('a net server handing its sockets to an http server, both audited: each audit records each close once; the channel says it once, as the http server\'s', async () => {
    const web = http.createServer(uploadHandler);
    const webAudit = audit(web);
    const front = net.createServer((socket) => web.emit('connection', socket));
    const frontAudit = audit(front);
    const port = await listening(front);
    const messages = published();
    let closed = nextSocketClosed(web);
    expect(await get(port, '/hello?x=1')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*ok \/hello\?x=1$/);
    await closed;
    closed = nextSocketClosed(web);
    await uploadClient(port);
    await closed;
    for (const counts of [webAudit.counts(), frontAudit.counts()]) {
      expect(counts).toMatchObject({ closed: 2, ends: { fin: 1, rst: 1 }, unreadResets: 1, resetsWithData: 1 });
    }
    // The http server's record has the request (the front server sees no http).
    expect(webAudit.recent()).toEqual([expect.objectContaining({ end: 'rst', request: { method: 'POST', path: '/upload', status: 413 } })]);
    expect(frontAudit.recent()).toEqual([expect.objectContaining({ end: 'rst', request: null })]);
    expect(messages.map(({ close, server }) => [close.request?.path, server])).toEqual([
      ['/hello', web],
      ['/upload', web],
    ]);
  });

  it('a net server handing its sockets to an http server that is not audited: the net server\'s audit still records them', async () => {
    const web = http.createServer(uploadHandler);
    const front = net.createServer((socket) => web.emit('connection', socket));
    const frontAudit = audit(front);
    const port = await listening(front);
    const closed = nextSocketClosed(web);
    await uploadClient(port);
    await closed;
    expect(frontAudit.counts()).toMatchObject({ closed: 1, ends: { rst: 1 }, resetsWithData: 1 });
  });

  it('an http server answering requests another server\'s connections brought (server.emit(\'request\')): audited as its own, the request on record', async () => {
    const web = http.createServer(uploadHandler);
    const webAudit = audit(web);
    const front = http.createServer((request, response) => web.emit('request', request, response));
    const port = await listening(front);
    const closed = nextSocketClosed(front);
    await uploadClient(port);
    await closed;
    expect(webAudit.counts()).toMatchObject({ closed: 1, ends: { rst: 1 }, resetsWithData: 1 });
    expect(webAudit.recent()[0]).toMatchObject({ request: { method: 'POST', path: '/upload', status: 413 } });
  });

  it('the http responses kept until each close: never for a connection whose close the audit would not see (collected once closed)', () => {
    const lib = path.join(root, 'lib', 'index.js');
    // In a child process with --expose-gc: a connection of an unaudited http server whose request
    // is given to the audited one (now audited as given to it), and a Duplex stream that is no
    // net.Socket (http serves any; no close look ever sees one). Once each has closed and nothing
    // else holds it, a collection must free it: the audit's map of responses must not keep it.
    const script = `
      const http = require('node:http');
      const net = require('node:net');
      const { Duplex } = require('node:stream');
      const sockclose = require(${JSON.stringify(lib)});
      const web = http.createServer((req, res) => { req.resume(); res.end('ok'); });
      const audit = sockclose.auditCloses(web);
      const refs = {};
      const timer = setTimeout(() => { process.stdout.write('timed out'); process.exit(1); }, 10000);
      const front = http.createServer((req, res) => web.emit('request', req, res));
      front.on('connection', (socket) => {
        refs.tcp = new WeakRef(socket);
        socket.on('close', () => setImmediate(duplexCase));
      });
      front.listen(0, '127.0.0.1', () => {
        const client = net.connect(front.address().port, '127.0.0.1', () => client.end('GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'));
        client.on('error', () => {}).resume();
      });
      function duplexCase() {
        const stream = new Duplex({ read() {}, write(_chunk, _encoding, callback) { callback(); } });
        refs.duplex = new WeakRef(stream);
        stream.on('finish', () => stream.destroy()).on('close', () => setImmediate(check));
        web.emit('connection', stream);
        stream.push('GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n');
      }
      async function check() {
        front.close();
        for (let pass = 0; pass < 5; pass++) { gc(); await new Promise((resolve) => setImmediate(resolve)); }
        clearTimeout(timer);
        process.stdout.write(JSON.stringify({ tcpFreed: refs.tcp.deref() === undefined, duplexFreed: refs.duplex.deref() === undefined, closed: audit.counts().closed }));
      }`;
    const result = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20_000 }));
    // The TCP connection's close is recorded (it was given a request); the Duplex's is not looked at.
    expect(result).toEqual({ tcpFreed: true, duplexFreed: true, closed: 1 });
  });

  it('TLS: a tls.Server that hands its TLSSockets to an http server, and an https server given raw sockets: each connection recorded once per audited server, as its TLSSocket', async () => {
    const { key, cert } = testCert();
    // 1. TLS terminated by one server, http served by another, both audited.
    const web = http.createServer(uploadHandler);
    const webAudit = audit(web);
    const terminator = tls.createServer({ key, cert }, (socket) => web.emit('connection', socket));
    const terminatorAudit = audit(terminator);
    const messages = published();
    let closed = nextSocketClosed(web);
    expect(await get(await listening(terminator), '/tls', true)).toMatch(/ok \/tls$/);
    await closed;
    expect(webAudit.counts()).toMatchObject({ closed: 1, ends: { fin: 1 } });
    expect(terminatorAudit.counts()).toMatchObject({ closed: 1, ends: { fin: 1 } });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ server: web, socket: expect.any(tls.TLSSocket), close: { request: { path: '/tls', status: 200 } } });
    // 2. An https server given the raw sockets a net server accepted (not audited): the TLSSocket's close only.
    const secure = https.createServer({ key, cert }, uploadHandler);
    const secureAudit = audit(secure);
    const front = net.createServer((socket) => secure.emit('connection', socket));
    closed = nextSocketClosed(secure, 'secureConnection');
    expect(await get(await listening(front), '/raw', true)).toMatch(/ok \/raw$/);
    await closed;
    expect(secureAudit.counts()).toMatchObject({ closed: 1, ends: { fin: 1 } });
    expect(messages).toHaveLength(2);
    expect(messages[1]).toMatchObject({ server: secure, socket: expect.any(tls.TLSSocket), close: { request: { path: '/raw' } } });
  });

  it('sockclose/audit (one audit shared by every server): a socket a listening net server hands to an http server is counted once, though both servers are audited', () => {
    const preload = path.join(root, 'lib', 'audit', 'preload.js');
    // RUNS GETs through the front server; the report once the http server saw every close.
    const script = `
      const http = require('node:http');
      const net = require('node:net');
      const { processAuditReport } = require(${JSON.stringify(preload)});
      const RUNS = 3;
      const web = http.createServer((req, res) => res.end('ok'));
      const front = net.createServer((socket) => web.emit('connection', socket));
      const timer = setTimeout(() => { process.stdout.write('timed out'); process.exit(1); }, 10000);
      let closed = 0;
      web.on('connection', (socket) => socket.on('close', () => {
        if (++closed < RUNS) return;
        clearTimeout(timer);
        const { servers, counts } = processAuditReport();
        process.stdout.write(JSON.stringify({ servers, closed: counts.closed, fin: counts.ends.fin }));
        front.close();
        web.close();
      }));
      const request = () => {
        const client = net.connect(front.address().port, '127.0.0.1', () => client.end('GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'));
        client.on('error', () => {}).resume();
      };
      const go = () => { for (let run = 0; run < RUNS; run++) request(); };
      front.listen(0, '127.0.0.1', () => (process.env.WEB_LISTENS ? web.listen(0, '127.0.0.1', go) : go()));`;
    const run = (webListens: boolean) =>
      JSON.parse(
        execFileSync(process.execPath, ['-e', script], {
          env: { ...process.env, WEB_LISTENS: webListens ? '1' : '' },
          encoding: 'utf8',
          timeout: 20_000,
        }),
      );
    // The http server is audited either way: from its listen(), or from its first connection
    // (Node's net.server.socket channel tells the socket's server, which http has set to its own).
    expect(run(false)).toEqual({ servers: 2, closed: 3, fin: 3 });
    expect(run(true)).toEqual({ servers: 2, closed: 3, fin: 3 });
  });
});
