// A TLS client over a JavaScript stream (a Duplex relaying to a TCP socket): a TLS socket with no
// descriptor at all, for the calls that must refuse it.
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

import { closeServer, listen, portOf } from './net.js';
import { testCert } from './tls.js';
import { nextEvent } from './wait.js';

/** Connects one to a fresh local TLS server; pushes onto `cleanups` what closes both. */
export async function tlsOverJsStream(cleanups: (() => unknown)[]): Promise<tls.TLSSocket> {
  const { key, cert } = testCert();
  const server = await listen(tls.createServer({ key, cert }, (peer) => peer.on('error', () => undefined)));
  cleanups.push(() => closeServer(server));
  const raw = net.connect(portOf(server), '127.0.0.1');
  cleanups.push(() => void raw.destroy());
  await nextEvent(raw, 'connect');
  const duplex = new Duplex({
    read() {},
    write(chunk, _encoding, callback) {
      raw.write(chunk, callback);
    },
  });
  raw.on('data', (chunk) => duplex.push(chunk));
  const secure = tls.connect({ socket: duplex, rejectUnauthorized: false });
  secure.on('error', () => undefined);
  cleanups.push(() => void secure.destroy());
  await nextEvent(secure, 'secureConnect');
  return secure;
}
