// An audited http2 secure server (compatibility API): the audit keeps, per open connection, the
// response last on it (docs/observability.md), until the close. http2 gives each request a Proxy of
// its own as `request.socket`; keyed by those, every response of a long-lived session stayed in the
// audit's map (thousands, until a sweep; the close comes for the session's TLSSocket, never for a
// proxy). Node 20+ only: before, Http2SecureServer has no closeIdleConnections() and the audit
// does not listen to its requests.
import { execFileSync } from 'node:child_process';
import http2 from 'node:http2';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';
import { testCert } from '../helpers/tls.js';

const N = 300;
const listensToRequests = typeof (http2.createSecureServer({}) as { closeIdleConnections?: unknown }).closeIdleConnections === 'function';

describe('an audited http2 server', () => {
  it.runIf(listensToRequests)('keeps one response per open session, not one per request; the session\'s close is recorded with its last request', () => {
    const { key, cert } = testCert();
    const script = `
      const diagnosticsChannel = require('node:diagnostics_channel');
      const http2 = require('node:http2');
      const { auditCloses } = require(${JSON.stringify(path.join(root, 'lib', 'index.js'))});
      const timer = setTimeout(() => { process.stdout.write(JSON.stringify({ error: 'timed out' })); process.exit(1); }, 20000);
      let freed = 0;
      const registry = new FinalizationRegistry(() => { freed++; });
      const server = http2.createSecureServer({ key: process.env.KEY, cert: process.env.CERT }, (req, res) => {
        registry.register(res, 0);
        res.end('ok');
      });
      const audit = auditCloses(server);
      const requests = [];
      let recorded;
      const closeRecorded = new Promise((resolve) => (recorded = resolve));
      diagnosticsChannel.subscribe('sockclose:audit:close', ({ close }) => {
        requests.push(close.request);
        recorded();
      });
      const collect = async () => { for (let round = 0; round < 20; round++) { global.gc(); await new Promise((resolve) => setImmediate(resolve)); } };
      server.listen(0, '127.0.0.1', async () => {
        const session = http2.connect('https://localhost:' + server.address().port, { rejectUnauthorized: false });
        for (let i = 0; i < ${N}; i++) {
          await new Promise((resolve, reject) => {
            const stream = session.request({ ':path': '/' + i });
            stream.resume();
            stream.on('end', resolve);
            stream.on('error', reject);
            stream.end();
          });
        }
        await collect();
        const freedWhileOpen = freed;
        session.close();
        // The server's side of the session closed, its close recorded (bounded by the timer above).
        await closeRecorded;
        await new Promise((resolve) => setImmediate(resolve));
        await collect();
        clearTimeout(timer);
        process.stdout.write(JSON.stringify({ freedWhileOpen, freedAfter: freed, closed: audit.counts().closed, requests }));
        server.close();
        audit.stop();
      });`;
    const result = JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', '-e', script], {
        env: { ...process.env, KEY: key.toString(), CERT: cert.toString() },
        encoding: 'utf8',
        timeout: 40_000,
      }),
    );
    expect(result).toEqual({ freedWhileOpen: N - 1, freedAfter: N, closed: 1, requests: [{ method: 'GET', path: `/${N - 1}`, status: 200 }] });
  });
});
