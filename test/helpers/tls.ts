// A throwaway self-signed certificate for TLS tests, made with openssl at test time (nothing
// long-lived is committed). EC keys: fast to generate. Its files are removed as soon as they are
// read: a private key never stays behind in /tmp.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { tempDir } from './net.js';

export interface TestCert {
  key: Buffer;
  cert: Buffer;
}

let cached: TestCert | undefined;

/** A certificate for CN=localhost, valid for a day, shared by the tests of one process. */
export function testCert(): TestCert {
  if (cached) return cached;
  const dir = tempDir('sockclose-tls-');
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', certFile],
      { stdio: 'ignore' },
    );
    cached = { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return cached;
}

/**
 * The certificate as PEM files in `dir` (for programs that read files: Python peers, child
 * processes). The caller owns `dir` and removes it.
 */
export function testCertFiles(dir: string): { keyFile: string; certFile: string } {
  const { key, cert } = testCert();
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  fs.writeFileSync(keyFile, key, { mode: 0o600 });
  fs.writeFileSync(certFile, cert);
  return { keyFile, certFile };
}
