// The audited request's `status` is that of a response head that went out, else null: Node's
// `headersSent` turns true at writeHead(), before anything is written, and a pipelined response
// waits in Node until the ones before it are done. Either way the client never saw that status,
// and an RST line must not blame it.
import http from 'node:http';
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until } from '../helpers/wait.js';

type Audit = ReturnType<typeof sockclose.auditCloses>;
type AuditedClose = ReturnType<Audit['recent']>[number];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An audited http server; every close it records is kept (`closes`), RST or not. */
async function auditedServer(handler: http.RequestListener) {
  const server = http.createServer(handler);
  const closes: AuditedClose[] = [];
  const onClose = (message: unknown) => {
    const { close, server: from } = message as { close: AuditedClose; server: unknown };
    if (from === server) closes.push(close);
  };
  const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
  subscribe(sockclose.ChannelNames.auditClose, onClose);
  cleanups.push(() => unsubscribe(sockclose.ChannelNames.auditClose, onClose));
  const audit = sockclose.auditCloses(server);
  cleanups.push(() => audit.stop());
  await listen(server);
  cleanups.push(() => closeServer(server));
  return { server, audit, closes };
}

function connect(port: number): net.Socket {
  const client = net.connect({ port, host: '127.0.0.1' });
  client.on('error', () => {});
  cleanups.push(() => client.destroy());
  return client;
}

describe("auditCloses: the request's status", () => {
  it('writeHead() and then a destroy before any byte: null (the client got nothing)', async () => {
    const { server, closes } = await auditedServer((req, res) => {
      res.writeHead(500);
      req.socket.destroy();
    });
    const client = connect(portOf(server));
    let received = 0;
    client.on('data', (chunk: Buffer) => (received += chunk.length));
    client.write('GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
    await nextEvent(client, 'close', 10_000);
    await until(() => closes.length === 1, 5000, 'the close on record');
    expect(received).toBe(0);
    expect(closes[0]!.request).toEqual({ method: 'GET', path: '/x', status: null });
  });

  it('a response sent: its status', async () => {
    const { server, closes } = await auditedServer((_req, res) => res.writeHead(404, { connection: 'close' }).end('no'));
    const client = connect(portOf(server));
    client.resume();
    client.write('GET /y HTTP/1.1\r\nHost: a\r\n\r\n');
    await nextEvent(client, 'close', 10_000);
    await until(() => closes.length === 1, 5000, 'the close on record');
    expect(closes[0]!.request).toEqual({ method: 'GET', path: '/y', status: 404 });
  });

  it('a pipelined request whose response waited behind a Connection: close one: null on the RST record', async () => {
    const { server, audit } = await auditedServer((req, res) => {
      if (req.url === '/close') res.setHeader('Connection', 'close');
      res.end(`ok ${req.url}`);
    });
    const client = connect(portOf(server));
    let received = '';
    client.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    // The upload is never read: the close after the first response resets.
    client.write('GET /close HTTP/1.1\r\nHost: x\r\n\r\nPOST /never HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n');
    client.write(Buffer.alloc(300_000));
    await until(() => audit.recent().length === 1, 10_000, 'the RST close on record');
    expect(received).not.toContain('ok /never');
    expect(audit.recent()[0]).toMatchObject({ end: 'rst', request: { method: 'POST', path: '/never', status: null } });
  });
});
