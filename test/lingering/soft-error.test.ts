// A live peer is never cut as an error: after its FIN, the native lingerer waits for our response's
// acknowledgement and tells a reset from the kernel's state (CLOSE), not from a pending error. An
// ICMP soft error (destination unreachable: a network hiccup the connection survives) sets one on
// a live connection; read as the end, it closed the linger as 'error' (EHOSTUNREACH) with our
// bytes unacknowledged, the orphan the wait is there to prevent (found in review: 12.7 ms after
// the ICMP, while the client then read the whole response). Needs raw sockets: root, Linux.
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { until, within } from '../helpers/wait.js';
import { cleanupsAfterEach } from './lifecycle.js';

const { enableLingeringClose } = sockclose;
type LingerReport = Parameters<NonNullable<NonNullable<Parameters<typeof enableLingeringClose>[1]>['onReport']>>[0];
const cleanups = cleanupsAfterEach();
const root = process.platform === 'linux' && process.getuid?.() === 0;

describe.runIf(root)('an ICMP soft error while the lingerer waits for our acknowledgement', () => {
  it("does not end the linger: the silent peer's linger ends at the idle timeout, not as 'error'", async () => {
    const reports: LingerReport[] = [];
    const server = http.createServer((_request, response) => {
      response.writeHead(200, { connection: 'close' });
      response.end(Buffer.alloc(1024 * 1024, 0x79));
    });
    // Looks at the send queue every idleTimeout / 8: several before the idle end.
    const control = enableLingeringClose(server, { idleTimeout: 1200, onReport: (report) => reports.push(report) });
    await listen(server);
    cleanups.add(() => closeServer(server), control);

    const client = spawn('python3', [path.join(import.meta.dirname, 'fixtures', 'icmp_soft_error.py'), String(portOf(server))], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    cleanups.add(() => void client.kill());
    const lines = readline.createInterface({ input: client.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<string> => String((await within(lines.next(), 10_000, 'the client')).value);
    expect(await next()).toBe('ready');
    // The response sits in the kernels, the peer's FIN read: the lingerer waits for its acknowledgement.
    await until(() => control.stats().lingering === 1, 5000, 'the linger');
    client.stdin.write('inject\n');
    expect(await next()).toBe('injected');
    await until(() => reports.length === 1, 10_000, 'the report');
    expect(reports[0]).toMatchObject({ reason: 'idle-timeout' });
    client.stdin.end();
  });
});
