// An optional option given as undefined is not given: every public function taking options reads
// `undefined` as the option's absence, and its declarations (Node's convention, `prop?: T |
// undefined`) must let a consumer compiled with exactOptionalPropertyTypes pass one. They did not:
// test/fixtures/types/options-undefined.mts, which passes `T | undefined` values to every such
// option of the main entry and of sockclose/harness, failed with TS2322 / TS2375 / TS2379. Here,
// on real loopback sockets, one option or more of each of those functions given as undefined, and
// the result the same as without it; then the consumer type-checked.
import diagnosticsChannel from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, tcpPair } from '../helpers/net.js';
import { runNode } from '../helpers/run-node.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { typeCheckProject } from '../helpers/tsc.js';
import { nextEvent, within } from '../helpers/wait.js';

const require = createRequire(import.meta.url);
const harness = require(path.join(root, 'lib', 'harness', 'index.js')) as typeof import('../../lib/harness/index.js');

/** What a consumer holds and may not have: `T | undefined`, here undefined. */
function absent<T>(): T | undefined {
  return undefined;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('options given as undefined: the main entry', () => {
  it('lingeringClose(): an undefined signal or bound is the default (the peer ends it: eof; aborted: reset, as onTimeout defaults)', async () => {
    const { client, server, listener } = await tcpPair();
    cleanups.push(() => closeServer(listener), () => client.destroy());
    client.on('error', () => {});
    client.resume();
    // The client answers our FIN with its own: the linger ends at its EOF.
    client.once('end', () => client.end());
    const report = await within(
      sockclose.lingeringClose(server, {
        signal: absent<AbortSignal>(),
        idleTimeout: absent<number>(),
        maxTimeout: absent<number>(),
        onTimeout: absent<'reset' | 'close'>(),
        maxDrainBytes: absent<number>(),
      }),
      10_000,
      'the lingering close report',
    );
    expect(report).toMatchObject({ reason: 'eof', closedWith: 'close', error: null });

    // Aborted before it began: closed as a timeout closes, which `onTimeout` given as undefined
    // makes a reset (its default), not a plain close.
    const second = await tcpPair();
    cleanups.push(() => closeServer(second.listener), () => second.client.destroy());
    second.client.on('error', () => {});
    const aborted = await within(
      sockclose.lingeringClose(second.server, { onTimeout: absent<'reset' | 'close'>(), signal: AbortSignal.abort() }),
      10_000,
      'the aborted lingering close report',
    );
    expect(aborted).toMatchObject({ reason: 'aborted', closedWith: 'reset' });
  });

  it('enableLingeringClose(): undefined onReport, signal and bounds enable it with the defaults', async () => {
    const srv = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.destroy();
    });
    const control = sockclose.enableLingeringClose(srv, {
      onReport: absent<(report: unknown) => void>(),
      signal: absent<AbortSignal>(),
      maxLingering: absent<number>(),
      shortLingerAbove: absent<number>(),
      shortLingerTimeout: absent<number>(),
      idleTimeout: absent<number>(),
      maxTimeout: absent<number>(),
      onTimeout: absent<'reset' | 'close'>(),
      maxDrainBytes: absent<number>(),
    });
    cleanups.push(() => closeServer(srv), control);
    await listen(srv);
    const client = net.connect({ port: portOf(srv), host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    client.resume();
    // The server's FIN came from the lingering close, which now waits for ours.
    await nextEvent(client, 'end', 10_000);
    client.end();
    await nextEvent(client, 'close', 10_000);
    await within(control.drained(), 10_000, 'the linger to end');
    expect(control.stats()).toMatchObject({ lingering: 0, peakLingering: 1, shortened: 0, resets: 0 });
    expect(control.stats().reasons.eof).toBe(1);
  });

  it('auditCloses(): an undefined `recent` keeps the default (recent RST-with-data closes kept)', async () => {
    const payload = Buffer.alloc(600_000, 'x');
    const srv = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => {});
      socket.write(payload);
      socket.destroySoon();
    });
    const audit = sockclose.auditCloses(srv, { recent: absent<number>() });
    cleanups.push(() => audit.stop());
    await listen(srv);
    cleanups.push(() => closeServer(srv));
    let published!: () => void;
    const recorded = within(new Promise<void>((resolve) => (published = resolve)), 10_000, 'the audited close');
    const onClose = () => published();
    diagnosticsChannel.subscribe(sockclose.ChannelNames.auditClose, onClose);
    cleanups.push(() => diagnosticsChannel.unsubscribe(sockclose.ChannelNames.auditClose, onClose));
    // The seed 004 client: 4 bytes the server never reads, so its close is an RST with data lost;
    // it reads only once the server has closed.
    const client = net.connect(portOf(srv), '127.0.0.1', () => client.write('spam'));
    client.on('error', () => {});
    client.pause();
    void recorded.then(() => client.resume(), () => {});
    cleanups.push(() => client.destroy());
    await recorded;
    expect(audit.counts()).toMatchObject({ closed: 1, resetsWithData: 1 });
    // `recent: 0` would keep none.
    expect(audit.recent()).toHaveLength(1);
  });

  it('setLinger(): an undefined `blocking` is not blocking (a positive linger is emulated)', async () => {
    const { client, server, listener } = await tcpPair();
    cleanups.push(() => closeServer(listener), () => client.destroy(), () => server.destroy());
    client.on('error', () => {});
    server.on('error', () => {});
    sockclose.setLinger(server, 5, { blocking: absent<boolean>() });
    expect(sockclose.getLinger(server)).toEqual({ enabled: true, seconds: 5, emulated: true });
    sockclose.setLinger(client, 5, { blocking: true });
    expect(sockclose.getLinger(client)).toEqual({ enabled: true, seconds: 5, emulated: false });
    sockclose.setLinger(server, 0, { blocking: absent<boolean>() });
    expect(sockclose.getLinger(server)).toEqual({ enabled: true, seconds: 0, emulated: false });
    sockclose.setLinger(client, false, { blocking: absent<boolean>() });
    expect(sockclose.getLinger(client)).toEqual({ enabled: false, seconds: 0, emulated: false });
  });

  it('protectCluster(): undefined force and env are their defaults (in a fresh process: cluster state is per process)', async () => {
    const script = [
      `const sockclose = require(${JSON.stringify(path.join(root, 'lib', 'index.js'))});`,
      'const given = sockclose.protectCluster({ force: undefined, env: undefined });',
      'const plain = sockclose.protectCluster();',
      'console.log(JSON.stringify({ given, plain, env: process.env.NODE_CLUSTER_SCHED_POLICY ?? null }));',
    ].join('\n');
    const env = { ...process.env };
    delete env.NODE_CLUSTER_SCHED_POLICY;
    const { code, stdout, stderr } = await runNode(['-e', script], { timeoutMs: 30_000, env });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { given, plain, env: after } = JSON.parse(stdout) as { given: { applied: boolean; forced: boolean }; plain: unknown; env: string | null };
    // This Linux system is not exposed: without force nothing is applied, and nothing set.
    expect(given).toMatchObject({ forced: false, applied: false });
    expect(given).toEqual(plain);
    expect(after).toBeNull();
  });
});

describe('options given as undefined: sockclose/harness', () => {
  it('createFaultServer() and configure(): undefined options and listen fields are the defaults, and configure() keeps what it has', async () => {
    const server = await harness.createFaultServer({
      behavior: 'close',
      listen: { host: absent<string>(), address: undefined, port: absent<number>(), family: absent<string>() },
      protocol: absent<'raw' | 'http'>(),
      responseBytes: absent<number>(),
      bytes: absent<number>(),
      delayMs: absent<number>(),
      timeoutMs: absent<number>(),
      awaitRequest: absent<boolean>(),
      lingerIdleMs: absent<number>(),
      lingerMaxMs: absent<number>(),
    });
    cleanups.push(() => server.close());
    const plain = await harness.createFaultServer({ behavior: 'close' });
    const defaults = plain.settings;
    await plain.close();
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.settings).toEqual(defaults);

    server.configure({ behavior: absent<'close'>(), delayMs: absent<number>(), timeoutMs: absent<number>(), awaitRequest: absent<boolean>() });
    expect(server.settings).toEqual(defaults);

    // probe(): undefined options send nothing, half-close nothing, and use the default bounds.
    // observeClose(): an undefined side is detected from the socket.
    const result = await harness.probe(server.host, server.port, {
      send: absent<number>(),
      shutdown: absent<boolean>(),
      timeoutMs: absent<number>(),
      connectTimeoutMs: absent<number>(),
    });
    expect(result).toMatchObject({ outcome: 'fin', sent: 0, received: 0, connectError: null });
    expect(result.observation.side).toBe('client');

    const socket = net.connect({ port: server.port, host: '127.0.0.1' });
    socket.on('error', () => {});
    const observed = harness.observeClose(socket, { side: absent<'client' | 'server'>() });
    socket.resume();
    const observation = await within(observed, 10_000, 'the observed close');
    expect(observation.side).toBe('client');
    expect(observation.peer).toBe('fin');
  });

  it('createFaultProxy(), addToxic(), formatToxic(): undefined options, fields and attributes are the defaults', async () => {
    const upstream = await harness.createFaultServer({ behavior: 'close' });
    cleanups.push(() => upstream.close());
    const proxy = await harness.createFaultProxy({
      upstream: { host: absent<string>(), family: absent<string>(), port: upstream.port },
      listen: { host: absent<string>(), port: absent<number>() },
      toxics: absent<[]>(),
      connectTimeoutMs: absent<number>(),
    });
    cleanups.push(() => proxy.close());
    expect(proxy.host).toBe('127.0.0.1');
    expect(proxy.upstream).toEqual({ host: '127.0.0.1', port: upstream.port });
    expect(proxy.toxics).toEqual([]);

    const toxic = proxy.addToxic({
      type: 'latency',
      name: absent<string>(),
      stream: absent<'upstream' | 'downstream'>(),
      toxicity: absent<number>(),
      attributes: { latency: absent<number>(), jitter: absent<number>() },
    });
    expect(toxic).toEqual({ type: 'latency', name: 'latency_downstream', stream: 'downstream', toxicity: 1, attributes: { latency: 0, jitter: 0 } });
    expect(proxy.addToxic({ type: 'slicer', stream: 'upstream', attributes: { average_size: 10, size_variation: absent<number>(), delay: absent<number>() } })).toEqual({
      type: 'slicer',
      name: 'slicer_upstream',
      stream: 'upstream',
      toxicity: 1,
      attributes: { average_size: 10, size_variation: 0, delay: 0 },
    });
    expect(harness.formatToxic({ type: 'timeout', name: absent<string>(), stream: absent<'upstream'>(), toxicity: absent<number>(), attributes: absent<{ timeout: number }>() })).toBe(
      harness.formatToxic({ type: 'timeout' }),
    );

    // The proxy, so configured, passes a connection through and its FIN back.
    const result = await harness.probe(proxy.host, proxy.port, { shutdown: absent<boolean>() });
    expect(result).toMatchObject({ outcome: 'fin', connectError: null });
  });
});

describe('options given as undefined: the declarations', () => {
  it('let a consumer compiled with exactOptionalPropertyTypes pass them', async () => {
    const { code, output } = await typeCheckProject(path.join(root, 'test', 'fixtures', 'types', 'tsconfig.options-undefined.json'), root, 120_000);
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
