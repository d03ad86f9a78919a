// A proxy whose --upstream is its own --listen address would connect to itself for every
// connection, and again for each of those (thousands of descriptors a second): refused, exit 2.
import { describe, expect, it } from 'vitest';

import { cli, stoppedAfterEach } from './cli.js';
import { freePort } from '../helpers/net.js';

const running = stoppedAfterEach();

describe('sockclose proxy: --upstream the proxy itself', () => {
  it.each([
    ['127.0.0.1:P', '127.0.0.1:P'],
    ['localhost:P', '127.0.0.1:P'],
    ['127.0.0.1:P', '0.0.0.0:P'],
    ['P', 'P'],
    // Other spellings of the same address (each looped until EMFILE before).
    ['127.1:P', '127.0.0.1:P'],
    ['2130706433:P', '127.0.0.1:P'],
    ['0.0.0.0:P', '127.0.0.1:P'],
    ['127.0.0.2:P', '0.0.0.0:P'],
    ['127.0.0.1:P', '[::]:P'],
  ])('--upstream %s --listen %s: exit 2 saying why, nothing listened', async (upstream, listen) => {
    const port = String(await freePort());
    const proc = cli(['proxy', '--upstream', upstream.replace('P', port), '--listen', listen.replace('P', port)]);
    running.push(proc);
    const { code, stdout, stderr } = await proc.exit(5000);
    expect(code, stdout).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain("is the proxy's own --listen address");
  });

  it('another port, or another loopback address on the same port, is not a loop', async () => {
    for (const variant of ['next port', 'other address'] as const) {
      // The port was free a moment ago; a test running in parallel may take it meanwhile. Then the
      // proxy says EADDRINUSE (exit 5): take another, at most three times.
      for (let attempt = 1; ; attempt += 1) {
        const port = await freePort();
        const upstream = variant === 'next port' ? `127.0.0.1:${port + 1 > 65535 ? port - 1 : port + 1}` : `127.0.0.2:${port}`;
        const proc = cli(['proxy', '--upstream', upstream, '--listen', `127.0.0.1:${port}`, '--json']);
        running.push(proc);
        const listening = await proc.json().catch(() => null);
        if (listening === null) {
          const { code, stderr } = await proc.exit();
          const lost = code === 5 && stderr.includes('EADDRINUSE');
          if (lost && attempt < 3) continue;
          throw new Error(`sockclose proxy --upstream ${upstream} --listen 127.0.0.1:${port} exited ${code} (attempt ${attempt}): ${stderr}`);
        }
        expect(listening).toMatchObject({ event: 'listening', port });
        proc.child.kill('SIGTERM');
        expect((await proc.exit()).code).toBe(0);
        break;
      }
    }
  });
});
