// A flag's value that starts with '-': parseArgs refuses `--send-text -PING` as ambiguous. The
// message must say what is wrong with what was typed: '-PING' is no option of probe, and '-1' is
// text for --send-text, not "a negative number". It names the form that works (`--send-text=-PING`).
import net from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { within } from '../helpers/wait.js';
import { run } from './cli.js';

describe('sockclose: a value that starts with a dash', () => {
  it.each([
    [['probe', '127.0.0.1:1', '--send-text', '-PING'], "--send-text '-PING': a value that starts with '-' is written --send-text=-PING"],
    [['probe', '127.0.0.1:1', '--send-text', '-1'], "--send-text '-1': a value that starts with '-' is written --send-text=-1"],
    [['proxy', '--upstream', '127.0.0.1:1', '--toxic', '-x'], '--toxic=-x'],
  ])('%j: exit 2, no made-up option or negative number, the form that works', async (args, message) => {
    const { code, stdout, stderr } = await run(args);
    expect(code, stderr).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr).not.toMatch(/not the option|negative number/);
  });

  it.each([
    // Still said as before: a real option where the value should be, a negative number.
    [['probe', '127.0.0.1:1', '--send-text', '--json'], "--send-text needs a value, not the option '--json'"],
    [['probe', '127.0.0.1:1', '--send', '-n'], "--send needs a value, not the option '-n'"],
    [['probe', '127.0.0.1:1', '--send', '-4'], '--send takes no negative number (got -4)'],
  ])('%j: exit 2, %s', async (args, message) => {
    const { code, stderr } = await run(args);
    expect(code, stderr).toBe(2);
    expect(stderr).toContain(message);
  });

  describe('the form the message names', () => {
    let server: net.Server;
    let port = 0;
    beforeAll(async () => {
      // Echoes, then ends: the probe's FIN is answered with ours.
      server = net.createServer((socket) => socket.on('error', () => {}).pipe(socket));
      await within(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), 5000, 'the echo server to listen');
      port = (server.address() as net.AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('--send-text=-PING sends the text', async () => {
      const { code, stdout, stderr } = await run(['probe', `127.0.0.1:${port}`, '--send-text=-PING', '--shutdown', '--json']);
      expect(code, stderr).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ outcome: 'fin', sent: 5, received: 5 });
    });
  });
});
