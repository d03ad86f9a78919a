// The net.Socket under a live TLS connection (an https server's raw connection, or any socket a
// tls.TLSSocket was made over): shutdownWrite() and lingeringClose() on it would send a FIN under
// TLS, without close_notify, and fail the TLS socket's queued writes (EPIPE, then
// ERR_STREAM_PREMATURE_CLOSE). They refuse it, and the TLS connection goes on unharmed.
import net from 'node:net';
import tls from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';
import { nextEvent } from '../helpers/wait.js';

const { lingeringClose, shutdownWrite } = sockclose;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A net server that makes a TLS server socket over each connection; resolves once one is secure. */
async function tlsOverRaw(): Promise<{ raw: net.Socket; secure: tls.TLSSocket; client: tls.TLSSocket; received: () => string; ended: Promise<void> }> {
  const { key, cert } = testCert();
  let accepted!: (pair: { raw: net.Socket; secure: tls.TLSSocket }) => void;
  const pair = new Promise<{ raw: net.Socket; secure: tls.TLSSocket }>((resolve) => (accepted = resolve));
  const listener = await listen(
    net.createServer((raw) => {
      const secure = new tls.TLSSocket(raw, { isServer: true, key, cert });
      secure.on('error', () => undefined);
      secure.once('secure', () => accepted({ raw, secure }));
    }),
  );
  cleanups.push(() => closeServer(listener));
  const client = tls.connect({ port: portOf(listener), host: '127.0.0.1', rejectUnauthorized: false });
  client.on('error', () => undefined);
  cleanups.push(() => void client.destroy());
  let text = '';
  client.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const ended = new Promise<void>((resolve) => client.once('end', resolve));
  const { raw, secure } = await pair;
  cleanups.push(() => void secure.destroy());
  return { raw, secure, client, received: () => text, ended };
}

describe('the net.Socket under a live TLS connection', () => {
  it('shutdownWrite() and lingeringClose() refuse it, and the TLS connection ends cleanly after', async () => {
    const { raw, secure, received, ended } = await tlsOverRaw();
    await expect(shutdownWrite(raw)).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/under a live TLS connection/) });
    await expect(lingeringClose(raw)).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/Pass the TLSSocket/) });
    expect(raw.writableEnded).toBe(false);
    // Nothing was cut: the TLS socket writes and half-closes as ever, close_notify first.
    secure.write('after the refusals');
    await shutdownWrite(secure);
    await ended;
    expect(received()).toBe('after the refusals');
  });

  it('the TLS socket itself is accepted, and a plain net.Socket too (the check looks only for a TLS layer)', async () => {
    const { secure, ended } = await tlsOverRaw();
    await expect(lingeringClose(secure, { idleTimeout: 2000 })).resolves.toMatchObject({ reason: expect.stringMatching(/^(eof|error)$/) });
    await ended;

    const listener = await listen(net.createServer((socket) => void shutdownWrite(socket).then(() => socket.destroy())));
    cleanups.push(() => closeServer(listener));
    const plain = net.connect(portOf(listener), '127.0.0.1');
    const plainEnded = nextEvent(plain, 'end');
    plain.resume();
    await plainEnded;
    plain.destroy();
  });
});
