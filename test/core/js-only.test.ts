// Without the native binary (no prebuild for the platform, no compiler) the package still loads:
// the JavaScript paths work, everything else says ERR_SOCKCLOSE_UNSUPPORTED with the reason.
// Proved with a real copy of the package that has no build/ and no prebuilds/, so node-gyp-build
// itself finds nothing, as on such a platform.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { kernelClient } from '../helpers/kernel-client.js';
import { copyOfPackage } from '../helpers/package-copy.js';
import { root } from '../helpers/sockclose.js';
import { testCertFiles } from '../helpers/tls.js';
import { within } from '../helpers/wait.js';

let copy: string;

beforeAll(() => {
  copy = copyOfPackage('sockclose-jsonly-');
});

afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

describe('JavaScript-only mode', () => {
  it('loads, resets plain TCP through Node, and names the reason everywhere else', async () => {
    const { keyFile, certFile } = testCertFiles(copy); // removed with the copy
    const env = { ...process.env, SOCKCLOSE_LIB: path.join(copy, 'lib', 'index.js'), TLS_KEY: keyFile, TLS_CERT: certFile };
    delete env.SOCKCLOSE_BINARY;
    const child = spawn(process.execPath, [path.join(root, 'test', 'fixtures', 'js-only-scenario.cjs')], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    try {
      const { port } = JSON.parse((await within(lines.next(), 10_000, 'the scenario to listen')).value as string) as { port: number };

      // hardReset of a plain TCP socket works without the binary (resetAndDestroy underneath).
      expect(await kernelClient({ port, send: 1 })).toMatchObject({ end: 'ECONNRESET' });

      child.stdin.write('report\n');
      const report = JSON.parse((await within(lines.next(), 10_000, 'the report')).value as string) as Record<string, unknown>;
      const reason = (report.capabilities as { reason: string }).reason;
      expect(report.capabilities).toMatchObject({ native: false, binary: null, peekSocketError: false });
      expect(reason).toMatch(/^no usable native binary \(No native build was found for platform=linux/);

      const unsupported = `ERR_SOCKCLOSE_UNSUPPORTED: it needs sockclose's native binary, which is unavailable: ${reason}`;
      expect(report).toMatchObject({
        socketFd: 'ok',
        shutdownWrite: 'ok',
        getLinger: unsupported,
        setLinger: unsupported,
        peekSocketError: unsupported,
        takeSocketError: unsupported,
        inspectSocket: unsupported,
        closeWouldReset: unsupported,
        rawFd: unsupported,
      });
      expect(report.hardResetAfterEnd).toMatch(/^ERR_SOCKCLOSE_UNSUPPORTED: Node's resetAndDestroy\(\) cannot reset after end\(\).*the native binary is unavailable: no usable native binary/);
      expect(report.hardResetUnconnected).toBe('ERR_SOCKCLOSE_NO_FD');
      // A connecting socket: reset once connected, published then; a refused connect: neither.
      expect(report).toMatchObject({ hardResetConnectingRefused: 'ok', publishedAfterRefused: 0, hardResetConnecting: 'ok', publishedAfterConnected: [-1] });
      expect(report.hardResetTls).toMatch(/^ERR_SOCKCLOSE_UNSUPPORTED: Node's resetAndDestroy\(\) rejects TLS sockets/);
    } finally {
      child.kill();
    }
  });
});
