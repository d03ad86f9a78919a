// Toxic types and attribute names are looked up only among the real ones: a name every JavaScript
// object inherits ('__proto__', 'constructor', 'toString', ...) is as unknown as 'foo', on the
// command line, on --control's stdin and in the harness API; and two toxics with one name are a
// usage error (exit 2), not a stack trace.
import { describe, expect, it } from 'vitest';

import { cli, stoppedAfterEach } from './cli.js';
import { harness } from '../harness/load.js';

const { createFaultProxy, parseToxic } = harness;
const INHERITED = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

const running = stoppedAfterEach();

/** A usage error: exit 2, nothing on stdout, the reason and the pointer to --help, no stack. */
async function usageError(args: string[]) {
  // Bounded well below the test's timeout: a command line wrongly accepted starts a proxy that
  // would run until killed (by afterEach).
  const proc = cli(['proxy', '--upstream', '127.0.0.1:1', ...args]);
  running.push(proc);
  const { code, stdout, stderr } = await proc.exit(10_000);
  expect(code, stderr).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).not.toContain('unexpected error');
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr.trimEnd().split('\n'), stderr).toHaveLength(2);
  expect(stderr).toMatch(/\nTry 'sockclose proxy --help'\.\n$/);
  return stderr;
}

describe('sockclose proxy --toxic: names', () => {
  it.each([
    [['--toxic', 'latency', '--toxic', 'latency'], "sockclose proxy: --toxic 'latency': the name 'latency_downstream' is already used by --toxic 'latency'"],
    [
      ['--toxic', 'latency:name=a', '--toxic', 'slicer:average_size=5,name=a'],
      "sockclose proxy: --toxic 'slicer:average_size=5,name=a': the name 'a' is already used by --toxic 'latency:name=a'",
    ],
    [
      ['--toxic', 'reset_peer/upstream', '--toxic', 'latency', '--toxic', 'latency:name=reset_peer_upstream'],
      "--toxic 'latency:name=reset_peer_upstream': the name 'reset_peer_upstream' is already used by --toxic 'reset_peer/upstream'",
    ],
  ])('a duplicate toxic name (%j): exit 2 naming it, no stack trace', async (args, message) => {
    expect(await usageError(args)).toContain(message);
  });

  it('toxics of one type on both streams, or named apart, are no duplicates', async () => {
    const proc = cli(['proxy', '--upstream', '127.0.0.1:1', '--toxic', 'latency', '--toxic', 'latency/upstream', '--toxic', 'latency:name=b', '--json']);
    running.push(proc);
    const listening = await proc.json<{ event: string; toxics: Array<{ name: string }> }>();
    expect(listening.toxics.map((t) => t.name)).toEqual(['latency_downstream', 'latency_upstream', 'b']);
  });

  it.each(['foo', ...INHERITED])("attribute '%s' is refused like any unknown one", async (key) => {
    const stderr = await usageError(['--toxic', `latency:${key}=abc`]);
    expect(stderr).toContain(`--toxic 'latency:${key}=abc': The property 'toxic.attributes.${key}' is not an attribute of latency (it has: latency, jitter)`);
  });

  // The notation takes types in [a-z_]: the inherited names spelled so.
  it.each(['nope', '__proto__', 'constructor', '__definegetter__'])("type '%s' is refused like any unknown one", async (type) => {
    for (const text of [type, `${type}:x=1`]) {
      const stderr = await usageError(['--toxic', text]);
      expect(stderr).toContain(`--toxic '${text}': The property 'toxic.type' must be one of: latency, reset_peer, timeout, slow_close, limit_data, bandwidth, slicer`);
    }
  });

  /** A proxy under --control, listening; what it answers to each command line. */
  async function controlledProxy() {
    const proc = cli(['proxy', '--upstream', '127.0.0.1:1', '--control', '--json']);
    running.push(proc);
    expect(await proc.json()).toMatchObject({ event: 'listening' });
    return async (command: string) => {
      proc.child.stdin.write(`${command}\n`);
      return proc.json<{ ok: boolean; message: string; toxics: unknown[] }>();
    };
  }

  it('--control: add and update refuse inherited names as unknown ones', async () => {
    const say = await controlledProxy();
    for (const command of ['add constructor', 'add __proto__:x=1', 'add latency:__proto__=1', 'add latency:constructor=1']) {
      expect(await say(command), command).toMatchObject({ ok: false, toxics: [] });
    }
    expect(await say('add latency:name=slow')).toMatchObject({ ok: true });
    for (const key of ['__proto__', 'constructor', 'toString']) {
      expect(await say(`update slow ${key}=1`), key).toMatchObject({ ok: false, message: expect.stringContaining(`is not an attribute of latency`) });
    }
    expect(await say('list')).toMatchObject({ ok: true, message: 'latency/downstream:latency=0,jitter=0 (slow)' });
  });

  it('a key given twice is a usage error on the command line, and refused by add and update', async () => {
    const stderr = await usageError(['--toxic', 'latency:latency=10,latency=20']);
    expect(stderr).toContain("--toxic 'latency:latency=10,latency=20': The argument 'toxic' gives the key 'latency' twice");
    const say = await controlledProxy();
    expect(await say('add latency:jitter=1,jitter=2')).toMatchObject({ ok: false, message: expect.stringContaining("gives the key 'jitter' twice"), toxics: [] });
    expect(await say('add latency:name=slow')).toMatchObject({ ok: true });
    expect(await say('update slow latency=1,latency=2')).toMatchObject({ ok: false, message: expect.stringContaining("gives the key 'latency' twice") });
    expect(await say('list')).toMatchObject({ ok: true, message: 'latency/downstream:latency=0,jitter=0 (slow)' });
  });
});

describe('toxics given by code: inherited names are unknown ones', () => {
  const unknownType = { code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining("The property 'toxic.type' must be one of") };
  const unknownAttribute = (key: string) => ({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining(`'toxic.attributes.${key}' is not an attribute of latency`) });

  it.each(INHERITED)("type '%s'", async (type) => {
    await expect(createFaultProxy({ upstream: 1, toxics: [{ type } as never] })).rejects.toMatchObject(unknownType);
  });

  it.each(INHERITED)("attribute '%s'", async (key) => {
    // JSON.parse makes '__proto__' an own key, as a toxic read from a file would have it.
    const attributes = JSON.parse(`{${JSON.stringify(key)}: 1}`) as Record<string, unknown>;
    expect(Object.keys(attributes)).toEqual([key]);
    await expect(createFaultProxy({ upstream: 1, toxics: [{ type: 'latency', attributes } as never] })).rejects.toMatchObject(unknownAttribute(key));
    expect(() => parseToxic(`latency:${key}=1`)).toThrow(expect.objectContaining(unknownAttribute(key)));
  });

  it('addToxic and updateToxic too; nothing inherited is read as an attribute', async () => {
    const proxy = await createFaultProxy({ upstream: 1 });
    try {
      expect(() => proxy.addToxic({ type: 'constructor' } as never)).toThrow(expect.objectContaining(unknownType));
      expect(() => proxy.addToxic({ type: 'latency', attributes: JSON.parse('{"__proto__":{"latency":5}}') as never })).toThrow(
        expect.objectContaining(unknownAttribute('__proto__')),
      );
      proxy.addToxic({ type: 'latency', name: 'slow' });
      expect(() => proxy.updateToxic('slow', { attributes: JSON.parse('{"__proto__":1}') as never })).toThrow(expect.objectContaining(unknownAttribute('__proto__')));
      // An attribute only on the prototype was not given: the default stays.
      const inherited = Object.create({ latency: 5 }) as Record<string, unknown>;
      expect(proxy.addToxic({ type: 'latency', name: 'other', attributes: inherited as never }).attributes).toEqual({ latency: 0, jitter: 0 });
      expect(proxy.toxics.map((t) => t.name)).toEqual(['slow', 'other']);
    } finally {
      await proxy.close();
    }
  });
});
