// The CLI end to end: servers on port 0 print their address (JSON with --json), probes exit with
// the code of what happened, the proxy takes toxics from flags and from stdin, demo runs.
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { cli, run, startListening, stoppedAfterEach } from './cli.js';
import { refusingPort } from '../helpers/net.js';
import { root } from '../helpers/sockclose.js';
import { nextEvent } from '../helpers/wait.js';

const running = stoppedAfterEach();

const start = (args: string[]) => startListening(running, args);

describe('sockclose serve + probe', () => {
  it('a reset is exit code 3, with the JSON verdict; serve reports the connection and stops after --count', async () => {
    const { proc, address, listening } = await start(['serve', '--behavior', 'close-with-unread', '--count', '1']);
    expect(listening).toMatchObject({ behavior: 'close-with-unread', protocol: 'raw', responseBytes: 600_000 });
    const probe = await run(['probe', address, '--send', '4', '--json']);
    expect(probe.code, probe.stderr).toBe(3);
    expect(JSON.parse(probe.stdout)).toMatchObject({ outcome: 'rst', kernelError: 'ECONNRESET', sent: 4, initiator: 'peer' });
    const connection = await proc.json();
    expect(connection).toMatchObject({ event: 'connection', id: 1, behavior: 'close-with-unread', serverEnd: 'rst', unreadAtClose: 4 });
    expect(await proc.json()).toMatchObject({ event: 'closed', reason: 'count', connections: 1 });
    expect((await proc.exit()).code).toBe(0);
  });

  it('a clean close is exit 0; FIN then reset is exit 3 (fin-rst)', async () => {
    const clean = await start(['serve', '--behavior', 'lingering-close', '--response-bytes', '1000']);
    const ok = await run(['probe', clean.address, '--send-text', 'GET', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ outcome: 'fin', received: 1000, kernelError: null });

    // The server sends FIN and RST back to back, but this probe is another process, which answers
    // the EOF with its own FIN at once: with the CPUs busy, the scheduler can run it between the
    // server's two syscalls, and then no RST can follow (measured: 18 of 200 under full load).
    // Five probes: the worst outcome decides the exit code, and each result must agree with it.
    const finRst = await start(['serve', '--behavior', 'fin-then-reset', '--response-bytes', '10', '--await-request']);
    const seen = await run(['probe', finRst.address, '--send', '1', '--count', '5', '--json']);
    const summary = JSON.parse(seen.stdout) as { runs: number; outcomes: Record<string, number>; results: Array<Record<string, unknown>> };
    expect(summary.runs).toBe(5);
    expect(summary.outcomes['fin-rst']).toBeGreaterThan(0);
    expect(summary.outcomes['fin-rst']! + summary.outcomes.fin!).toBe(5);
    expect(seen.code, seen.stderr).toBe(3);
    for (const result of summary.results) {
      if (result.outcome === 'fin-rst') expect(result).toMatchObject({ received: 10, kernelError: 'EPIPE', hiddenReset: true });
      else expect(result).toMatchObject({ outcome: 'fin', received: 10, kernelError: null, hiddenReset: false });
    }
  });

  it('--expect turns the outcome into 0 or 6; --count summarises', async () => {
    const { address } = await start(['serve', '--behavior', 'reset-after-bytes', '--bytes', '100', '--await-request']);
    expect((await run(['probe', address, '--send', '1', '--expect', 'rst'])).code).toBe(0);
    expect((await run(['probe', address, '--send', '1', '--expect', 'fin'])).code).toBe(6);
    const many = await run(['probe', address, '--send', '1', '--count', '5', '--json', '--progress']);
    expect(many.code).toBe(3);
    const summary = JSON.parse(many.stdout) as { runs: number; outcomes: Record<string, number>; received: Record<string, number> };
    expect(summary).toMatchObject({ runs: 5, outcomes: { rst: 5, fin: 0 }, received: { min: 100, max: 100 } });
    // Forced progress on a pipe: plain lines on stderr, ending at 5/5.
    expect(many.stderr).toContain('probes: 5/5');
  });

  it("human output of a reset Node reported as an 'error': no \"no end seen\" under \"reset (RST)\"", async () => {
    // The RST 400 ms after the bytes were acknowledged (by the probe's kernel, at once): the client
    // reads them first, and the RST then fails a read, which Node reports as an 'error' ECONNRESET.
    // Back to back, bytes and RST come in one wake-up, which libuv up to 1.51 reads as a clean EOF:
    // with 100 ms, a loaded CI run once saw every one of 10 attempts do so (19 of 20 'error' on a
    // quiet machine). Probe until it is an 'error', every run's lines consistent.
    const { address } = await start(['serve', '--behavior', 'reset-after-bytes', '--bytes', '100', '--await-request', '--delay', '400']);
    let sawError = false;
    for (let attempt = 0; attempt < 10 && !sawError; attempt += 1) {
      const reset = await run(['probe', address, '--send', '1']);
      expect(reset.code, reset.stderr).toBe(3);
      expect(reset.stdout).toMatch(/: reset \(RST\) after 100 B received, 1 B sent\n/);
      // The peer did end (with RST): never "no end seen".
      expect(reset.stdout).not.toContain('no end seen');
      sawError = reset.stdout.includes("what Node reported: 'error' ECONNRESET");
      if (sawError) {
        // No state was taken at the peer's end: say why, and where it was at close.
        expect(reset.stdout).toMatch(/\n {2}TCP state at the peer's end: unknown \(Node reported this end as an 'error', not an 'end'\)(; at close: [A-Z_0-9]+)?\n/);
      } else {
        expect(reset.stdout).toMatch(/\n {2}TCP state at the peer's end: [A-Z_0-9]+\n/);
      }
    }
    expect(sawError, "no run where Node reported the reset as an 'error'").toBe(true);
  });

  it('no progress on a pipe unless forced', async () => {
    const { address } = await start(['serve', '--behavior', 'close']);
    const many = await run(['probe', address, '--count', '3']);
    expect(many.code).toBe(0);
    expect(many.stderr).toBe('');
    expect(many.stdout).toContain('3 of 3 probes: fin 3');
  });

  it('a stall is exit 4 after --timeout; nobody listening is exit 5', async () => {
    const { address } = await start(['serve', '--behavior', 'stall']);
    const stalled = await run(['probe', address, '--timeout', '200']);
    expect(stalled.code).toBe(4);
    expect(stalled.stdout).toContain('neither closed nor reset in time');
    // No end from the peer: no state "at the peer's end" in words either, as in --json.
    expect(stalled.stdout).toContain("TCP state at the peer's end: none (no end seen); at close: ESTABLISHED");
    const stalledJson = JSON.parse((await run(['probe', address, '--timeout', '200', '--json'])).stdout) as Record<string, unknown>;
    expect(stalledJson).toMatchObject({ outcome: 'timeout', stateAtPeerEnd: null, stateAtClose: 'ESTABLISHED' });

    const refusing = await refusingPort();
    const refused = await run(['probe', `127.0.0.1:${refusing.port}`]).finally(() => refusing.close());
    expect(refused.code).toBe(5);
    expect(refused.stdout).toContain('could not connect (ECONNREFUSED)');
  });

  it.each([[[]], [['--count', '3']]])('SIGINT during a probe (%j) exits 130 at once, not after --timeout', async (extra) => {
    // A peer that accepts and says nothing: the probe would wait out its 10-minute --timeout.
    const held: net.Socket[] = [];
    const listener = net.createServer((socket) => held.push(socket)).listen(0, '127.0.0.1');
    await nextEvent(listener, 'listening');
    try {
      const port = (listener.address() as net.AddressInfo).port;
      const proc = cli(['probe', `127.0.0.1:${port}`, '--timeout', '600000', '--json', ...extra]);
      running.push(proc);
      await nextEvent(listener, 'connection');
      proc.child.kill('SIGINT');
      const { code, stderr } = await proc.exit(5000);
      expect(code, stderr).toBe(130);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it('serve on a port in use: exit 5 with the reason', async () => {
    const { listening } = await start(['serve', '--behavior', 'close']);
    const busy = await run(['serve', '--behavior', 'close', '--listen', `127.0.0.1:${listening.port}`]);
    expect(busy.code).toBe(5);
    expect(busy.stderr).toContain('EADDRINUSE');
  });

  it('SIGTERM stops serve cleanly: exit 0, a last "closed" line', async () => {
    const { proc } = await start(['serve', '--behavior', 'stall']);
    proc.child.kill('SIGTERM');
    expect(await proc.json()).toMatchObject({ event: 'closed', reason: 'SIGTERM', connections: 0 });
    expect((await proc.exit()).code).toBe(0);
  });

  it("SIGTERM does not wait out a lingering-close connection's timeouts (60 s here): cut short, exit 0", async () => {
    const { proc, listening } = await start(['serve', '--behavior', 'lingering-close', '--response-bytes', '1000', '--linger-idle', '60000', '--linger-max', '60000']);
    // Reads the response and our FIN, then stays silent with its side open.
    const client = net.connect({ port: listening.port, host: listening.host, allowHalfOpen: true });
    client.on('error', () => {});
    client.resume();
    await nextEvent(client, 'end', 5000);
    proc.child.kill('SIGTERM');
    // A connection cut by the shutdown is not the run's: not printed, not counted.
    expect(await proc.json(5000)).toMatchObject({ event: 'closed', reason: 'SIGTERM', connections: 0 });
    expect((await proc.exit()).code).toBe(0);
    client.destroy();
  });

  it('human output names the behaviour and the address', async () => {
    const proc = cli(['serve', '--behavior', 'reset-on-accept', '--http', '--count', '1']);
    running.push(proc);
    const first = await proc.line();
    expect(first).toMatch(/^listening on 127\.0\.0\.1:\d+: reset-on-accept \(http\)$/);
    const address = first.split(' ')[2]!.replace(/:$/, '');
    expect((await run(['probe', address])).code).toBe(3);
    // The client had sent neither FIN nor RST when the server reset it: said so, not "nothing yet".
    expect(await proc.line()).toMatch(/^#1 127\.0\.0\.1:\d+ reset-on-accept: server sent RST \(reset\), client sent no FIN or RST \(had not closed\);/);
  });

  it("human output says how a step's wait ended when it was not the awaited event: a client that never reads", async () => {
    const proc = cli(['serve', '--behavior', 'close-with-unread', '--response-bytes', String(32 * 1024 * 1024), '--timeout', '300', '--await-request', '--count', '1']);
    running.push(proc);
    const first = await proc.line();
    const [host, port] = first.split(' ')[2]!.replace(/:$/, '').split(':');
    const client = net.connect({ port: Number(port), host });
    client.on('error', () => {});
    client.pause(); // reads nothing: the 32 MiB response cannot all be written
    client.write('x');
    expect(await proc.line()).toMatch(/; steps: request > wrote \(timeout\) > unread-input > close$/);
    client.destroy();
  });
});

describe('sockclose proxy', () => {
  it('--toxic limit_data: the probe through it gets exactly N bytes, then a reset', async () => {
    const upstream = await start(['serve', '--behavior', 'echo']);
    const { proc, address, listening } = await start([
      'proxy',
      '--upstream',
      upstream.address,
      '--toxic',
      'limit_data:bytes=10,mode=reset',
      '--count',
      '1',
    ]);
    expect(listening).toMatchObject({ toxics: [{ type: 'limit_data', name: 'limit_data_downstream', attributes: { bytes: 10, mode: 'reset' } }] });
    const seen = await run(['probe', address, '--send', '100', '--json']);
    expect(seen.code).toBe(3);
    expect(JSON.parse(seen.stdout)).toMatchObject({ outcome: 'rst', received: 10 });
    expect(await proc.json()).toMatchObject({ event: 'connection', endedBy: 'toxic', toxics: [{ action: 'reset' }] });
  });

  it('--toxic bandwidth and slicer: every byte comes through, shaped; the listening line lists them', async () => {
    const upstream = await start(['serve', '--behavior', 'echo']);
    const { proc, address, listening } = await start([
      'proxy',
      '--upstream',
      upstream.address,
      '--toxic',
      'bandwidth:rate=50',
      '--toxic',
      'slicer:average_size=100,size_variation=20,delay=500',
      '--count',
      '1',
    ]);
    expect(listening).toMatchObject({
      toxics: [
        { type: 'bandwidth', attributes: { rate: 50 } },
        { type: 'slicer', attributes: { average_size: 100, size_variation: 20, delay: 500 } },
      ],
    });
    const seen = await run(['probe', address, '--send', '5000', '--shutdown', '--json']);
    expect(JSON.parse(seen.stdout)).toMatchObject({ outcome: 'fin', received: 5000, sent: 5000 });
    expect(await proc.json()).toMatchObject({ event: 'connection', endedBy: 'client', bytes: { upstream: 5000, downstream: 5000 } });
  });

  it('--control: toxics added, listed, updated and removed from stdin while running; the proxy taken down and up', async () => {
    const upstream = await start(['serve', '--behavior', 'echo']);
    const { proc, address } = await start(['proxy', '--upstream', upstream.address, '--control']);
    const say = async (command: string) => {
      proc.child.stdin.write(`${command}\n`);
      return proc.json<{ event: string; ok: boolean; message: string; toxics: Array<{ name: string; attributes: Record<string, unknown> }> }>();
    };
    expect(await say('add reset_peer:timeout=0,from=connect,name=cut')).toMatchObject({ event: 'toxics', ok: true, toxics: [{ name: 'cut' }] });
    expect((await run(['probe', address, '--send', '1'])).code).toBe(3);
    expect(await proc.json()).toMatchObject({ event: 'connection', endedBy: 'toxic' });
    // Only the keys given change: 'from' stays 'connect'.
    expect(await say('update cut timeout=60000')).toMatchObject({ ok: true, toxics: [{ name: 'cut', attributes: { timeout: 60_000, from: 'connect' } }] });
    expect(await say('update ghost timeout=1')).toMatchObject({ ok: false, message: expect.stringContaining('ghost') });
    // A rename is not an update: refused, where it used to answer "updated" and keep the name.
    expect(await say('update cut name=other')).toMatchObject({ ok: false, message: expect.stringContaining('cannot be changed here') });
    expect(await say('remove cut')).toMatchObject({ ok: true, toxics: [] });
    // A name is taken as given, runs of spaces included (the API allows any string).
    expect(await say('add latency:latency=1,name=slow  lane')).toMatchObject({ ok: true, toxics: [{ name: 'slow  lane' }] });
    expect(await say('update slow  lane latency=20, jitter=1')).toMatchObject({ ok: true, toxics: [{ name: 'slow  lane', attributes: { latency: 20, jitter: 1 } }] });
    expect(await say('remove slow  lane')).toMatchObject({ ok: true, message: 'removed slow  lane', toxics: [] });
    expect((await run(['probe', address, '--send', '1', '--shutdown', '--expect', 'fin'])).code).toBe(0);
    expect(await proc.json()).toMatchObject({ event: 'connection', endedBy: 'client' });
    expect(await say('reset')).toMatchObject({ ok: true, message: 'reset 0 open connection(s)' });
    // down: nobody listens (probe exit 5); up: the same address again.
    expect(await say('down')).toMatchObject({ ok: true, enabled: false, message: expect.stringContaining('down') });
    expect((await run(['probe', address])).code).toBe(5);
    expect(await say('up')).toMatchObject({ ok: true, enabled: true, message: `up: listening on ${address}` });
    expect((await run(['probe', address, '--send', '1', '--shutdown', '--expect', 'fin'])).code).toBe(0);
    expect(await proc.json()).toMatchObject({ event: 'connection', endedBy: 'client' });
    expect(await say('explode')).toMatchObject({ ok: false, message: expect.stringContaining("unknown command 'explode'") });
    expect(await say('add nope')).toMatchObject({ ok: false });
  });
});

describe('sockclose serve / proxy --quiet', () => {
  it('drops only the per-connection lines: --control still answers, and --json is quiet too', async () => {
    const upstream = await start(['serve', '--behavior', 'echo']);
    const proc = cli(['proxy', '--upstream', upstream.address, '--control', '--quiet', '--count', '1']);
    running.push(proc);
    const address = /^listening on (\S+) ->/.exec(await proc.line())![1]!;
    // A command's answer is not a connection line: --quiet must not swallow it.
    proc.child.stdin.write('list\n');
    expect(await proc.line(3000)).toBe('no toxics');
    expect((await run(['probe', address, '--send', '1', '--shutdown'])).code).toBe(0);
    expect(await proc.line()).toBe('stopped (1 connection).');
    expect((await proc.exit()).code).toBe(0);

    const quietJson = await start(['serve', '--behavior', 'close', '--quiet', '--count', '1']);
    expect((await run(['probe', quietJson.address])).code).toBe(0);
    // The next line is the last one, not {"event":"connection",...}.
    expect(await quietJson.proc.json()).toMatchObject({ event: 'closed', reason: 'count', connections: 1 });
    expect((await quietJson.proc.exit()).code).toBe(0);
  });
});

describe('sockclose demo', () => {
  it('runs the seed 004 scenario three ways; --json gives the report', async () => {
    const { code, stdout } = await run(['demo', '--runs', '3', '--json'], 60_000);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { runs: number; modes: Array<{ mode: string; runs: number }> };
    expect(report.runs).toBe(3);
    expect(report.modes.map((m) => m.mode)).toEqual(['plain', 'hardReset', 'lingering']);
  });

  it('prints the table for people, progress on stderr when forced', async () => {
    const { code, stdout, stderr } = await run(['demo', '--runs', '2', '--progress'], 60_000);
    expect(code).toBe(0);
    expect(stdout).toContain('lingering close');
    expect(stderr).toContain('demo: 6/6');
  });

  it('npm run demo (lib/demo/main.js) as sockclose demo: no progress on a pipe unless --progress', async () => {
    const script = path.join(root, 'lib', 'demo', 'main.js');
    const quiet = await promisify(execFile)(process.execPath, [script, '--runs', '2'], { timeout: 60_000 });
    expect(quiet.stdout).toContain('lingering close');
    expect(quiet.stderr).toBe('');
    const forced = await promisify(execFile)(process.execPath, [script, '--runs', '2', '--progress'], { timeout: 60_000 });
    expect(forced.stderr).toContain('connections: 6/6');
  });
});
