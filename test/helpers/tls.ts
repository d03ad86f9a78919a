// A throwaway self-signed certificate for TLS tests, made with openssl at test time (nothing
// long-lived is committed). EC keys: fast to generate.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { tempDir } from './net.js';

export interface TestCert {
  key: Buffer;
  cert: Buffer;
  keyFile: string;
  certFile: string;
}

let cached: TestCert | undefined;

/** A certificate for CN=localhost, valid for a day, shared by the tests of one process. */
export function testCert(): TestCert {
  if (cached) return cached;
  const dir = tempDir('sockclose-tls-');
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', certFile],
    { stdio: 'ignore' },
  );
  cached = { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile), keyFile, certFile };
  return cached;
}
