// A lingering close that the peer's reset ends reports `reason: 'error'` with the error the
// connection ended with: at run time a system error (`code`, negative `errno`, `syscall`), whether
// the native lingerer read the reset or Node did during the flush. The declarations typed it
// `CodedError` (a `code` only), so a consumer could not read the `errno` and `syscall` the TSDoc
// promises without a cast: the fixture test/fixtures/types/linger-error-fields.mts did not compile.
import net from 'node:net';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { typeCheckProject } from '../helpers/tsc.js';
import { nextEvent, within } from '../helpers/wait.js';

const { lingeringClose } = sockclose;

describe("a lingering close's 'error' report", () => {
  it('carries a system error at run time (code, errno, syscall) when the peer resets while it lingers', async () => {
    let report!: Promise<Awaited<ReturnType<typeof lingeringClose>>>;
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.write('hello');
      report = lingeringClose(socket);
    });
    await listen(server);
    try {
      const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
      client.on('error', () => {});
      client.resume();
      // The server's FIN: its close was flushed, and the linger waits for ours.
      await within(nextEvent(client, 'end'), 5000, "the server's FIN");
      client.resetAndDestroy();
      const ended = await within(report, 10_000, 'the linger report');
      expect(ended.reason).toBe('error');
      expect(ended.error).not.toBeNull();
      expect(ended.error).toMatchObject({ code: 'ECONNRESET' });
      const error = ended.error as unknown as { errno: unknown; syscall: unknown };
      expect(typeof error.errno).toBe('number');
      expect(error.errno).toBeLessThan(0);
      expect(typeof error.syscall).toBe('string');
    } finally {
      await closeServer(server);
    }
  });

  it('is declared a SystemError or null, so a consumer reads errno and syscall without a cast', async () => {
    const { code, output } = await typeCheckProject(path.join(root, 'test', 'fixtures', 'types', 'tsconfig.linger-error.json'), root, 120_000);
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
