// A plain net server in front of an https (or tls) server it hands its raw sockets to: one TCP
// connection, two sockets (the raw net.Socket the front accepted, the TLSSocket over it), both
// closed through _destroy on the same descriptor. docs/observability.md: "TLS connections are
// recorded once each, as their TLSSocket ..., not as the raw socket under it", and the channel
// publishes each close once. Before: the raw socket was recorded too, as the front's, so the
// preload counted each connection twice and sockclose:audit:close published it twice.
import { execFileSync } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent, until } from '../helpers/wait.js';

const RUNS = 3;

function run(preload: boolean, secureListens: boolean): Record<string, unknown> {
  const { key, cert } = testCert();
  const script = `
    const diagnosticsChannel = require('node:diagnostics_channel');
    const https = require('node:https');
    const net = require('node:net');
    const tls = require('node:tls');
    const lib = ${JSON.stringify(path.join(root, 'lib'))};
    const preload = ${preload} ? require(lib + '/audit/preload.js') : null;
    const { auditCloses } = require(lib + '/index.js');
    const timer = setTimeout(() => { process.stdout.write(JSON.stringify({ error: 'timed out' })); process.exit(1); }, 15000);
    const published = [];
    // Settled once every raw socket closed (a second record of a connection would come then, at
    // the latest) and every connection was published.
    let settle;
    const settled = new Promise((resolve) => (settle = resolve));
    const check = () => { if (front._connections === 0 && published.length >= ${2 * RUNS}) settle(); };
    // The upload's end is left out: whether Node answers an unread upload with FIN or RST differs
    // between versions (RST up to 20, FIN from 22); each connection's being recorded once does not.
    diagnosticsChannel.subscribe('sockclose:audit:close', ({ socket, server, close }) => {
      const path = close.request ? ' ' + close.request.path : '';
      published.push((socket instanceof tls.TLSSocket ? 'tls' : 'raw') + '@' + (server === front ? 'front' : 'secure') + (path === ' /upload' ? '' : ':' + close.end) + path);
      check();
    });
    const secure = https.createServer({ key: process.env.KEY, cert: process.env.CERT }, (req, res) => {
      if (req.url === '/upload') res.writeHead(413, { connection: 'close' }).end('too large');
      else res.end('ok');
    });
    const front = net.createServer((socket) => {
      socket.on('close', () => setImmediate(check));
      secure.emit('connection', socket);
    });
    const audits = preload ? null : [auditCloses(front), auditCloses(secure)];
    const one = (request) => new Promise((resolve) => {
      const client = tls.connect({ port: front.address().port, host: '127.0.0.1', rejectUnauthorized: false }, () => client.write(request));
      client.resume();
      client.on('error', () => {});
      client.on('close', resolve);
    });
    const go = async () => {
      for (let run = 0; run < ${RUNS}; run++) {
        await one('GET / HTTP/1.1\\r\\nhost: x\\r\\nconnection: close\\r\\n\\r\\n');
        await one('POST /upload HTTP/1.1\\r\\nhost: x\\r\\ncontent-length: 4000000\\r\\n\\r\\n' + 'u'.repeat(100000));
      }
      await settled; // bounded by the timer above
      await new Promise((resolve) => setImmediate(resolve));
      clearTimeout(timer);
      const counts = preload ? [preload.processAuditReport().counts] : audits.map((audit) => audit.counts());
      const tally = {};
      for (const message of published) tally[message] = (tally[message] || 0) + 1;
      process.stdout.write(JSON.stringify({ counts: counts.map(({ closed, ends }) => ({ closed, finOrRst: ends.fin + ends.rst, finAtLeast: ends.fin >= ${RUNS} })), published: tally }));
      front.close();
      if (${secureListens}) secure.close();
    };
    if (${secureListens}) secure.listen(0, '127.0.0.1', () => front.listen(0, '127.0.0.1', go));
    else front.listen(0, '127.0.0.1', go);`;
  return JSON.parse(
    execFileSync(process.execPath, ['-e', script], { env: { ...process.env, KEY: key.toString(), CERT: cert.toString() }, encoding: 'utf8', timeout: 30_000 }),
  );
}

describe('a net server handing raw sockets to a TLS server', () => {
  const each = { closed: 2 * RUNS, finOrRst: 2 * RUNS, finAtLeast: true };
  const asTls = { 'tls@secure:fin /': RUNS, 'tls@secure /upload': RUNS };

  it('two audits (front and https): each counts each connection once; the channel publishes it once, as its TLSSocket', () => {
    expect(run(false, false)).toEqual({ counts: [each, each], published: asTls });
  });

  it('sockclose/audit, the https server listening too (so audited): each connection counted once', () => {
    expect(run(true, true)).toEqual({ counts: [each], published: asTls });
  });

  it('sockclose/audit, the https server never listening (found by no one): each connection counted once, as its TLSSocket, for the front', () => {
    // Published as the front's: no request is known to it, so the upload's connection has no path.
    const published = run(true, false).published as Record<string, number>;
    expect(Object.values(published).reduce((a, b) => a + b, 0)).toBe(2 * RUNS);
    expect(Object.keys(published).every((key) => /^tls@front:(fin|rst)$/.test(key))).toBe(true);
    expect(published['tls@front:fin']).toBeGreaterThanOrEqual(RUNS);
  });

  it('the raw socket destroyed first (the application ends the connection under TLS): each audit still counts it once', async () => {
    const { key, cert } = testCert();
    const raws: net.Socket[] = [];
    const secure = https.createServer({ key, cert }, (_req, res) => {
      res.write('partial');
      raws.shift()!.destroy(); // before the TLSSocket, which follows it on its 'close'
    });
    const front = net.createServer((socket) => {
      raws.push(socket);
      secure.emit('connection', socket);
    });
    const audits = [sockclose.auditCloses(front), sockclose.auditCloses(secure)];
    const published: string[] = [];
    const onClose = (message: unknown) => {
      const { socket, server } = message as { socket: net.Socket; server: net.Server };
      published.push(`${socket instanceof tls.TLSSocket ? 'tls' : 'raw'}@${server === front ? 'front' : 'secure'}`);
    };
    diagnosticsChannel.subscribe(sockclose.ChannelNames.auditClose, onClose);
    try {
      await listen(front);
      const client = tls.connect({ port: portOf(front), host: '127.0.0.1', rejectUnauthorized: false }, () => client.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
      client.on('error', () => {});
      client.resume();
      await nextEvent(client, 'close', 10_000);
      // The TLSSocket closes last (on the raw socket's 'close'): once https recorded it, nothing is left to come.
      await until(() => audits.every((audit) => audit.counts().closed >= 1), 5000, 'both audits to record the connection');
      await new Promise((resolve) => setImmediate(resolve));
      // Before: the front counted 2 (the raw socket's close, then the TLSSocket's as its too).
      expect(audits.map((audit) => audit.counts().closed)).toEqual([1, 1]);
      // One message per socket that closed: the raw one for the front, the TLSSocket for https.
      expect(published.sort()).toEqual(['raw@front', 'tls@secure']);
    } finally {
      diagnosticsChannel.unsubscribe(sockclose.ChannelNames.auditClose, onClose);
      for (const audit of audits) audit.stop();
      await closeServer(front);
    }
  });
});
