// Errors shaped like Node's own: TypeError / RangeError with Node's codes for bad input, SystemError
// fields for OS failures, and sockclose's stable codes for the rest. No input crashes the process.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, tcpPair } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { tlsOverJsStream } from '../helpers/tls-over-js.js';
import { nextEvent } from '../helpers/wait.js';

type AnyCall = (target: unknown) => unknown;
const SYNC: [string, AnyCall][] = [
  ['socketFd', (t) => sockclose.socketFd(t as number)],
  ['setLinger', (t) => sockclose.setLinger(t as number, 0)],
  ['getLinger', (t) => sockclose.getLinger(t as number)],
  ['hardReset', (t) => sockclose.hardReset(t as number)],
  ['peekSocketError', (t) => sockclose.peekSocketError(t as number)],
  ['takeSocketError', (t) => sockclose.takeSocketError(t as number)],
  ['inspectSocket', (t) => sockclose.inspectSocket(t as number)],
  ['closeWouldReset', (t) => sockclose.closeWouldReset(t as number)],
];

/** Calls each function and returns what it threw (or shutdownWrite rejected with). */
async function failures(target: unknown): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  for (const [name, call] of SYNC) {
    try {
      call(target);
      seen[name] = 'no error';
    } catch (error) {
      seen[name] = error;
    }
  }
  seen.shutdownWrite = await sockclose.shutdownWrite(target as number).then(
    () => 'no error',
    (error: unknown) => error,
  );
  return seen;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('bad input', () => {
  it.each([['a string', 'x'], ['an object', {}], ['null', null], ['undefined', undefined], ['a boolean', true], ['a bigint', 3n], ['a function', () => 3]])(
    '%s as target: TypeError ERR_INVALID_ARG_TYPE from every function',
    async (_, value) => {
      for (const [name, error] of Object.entries(await failures(value))) {
        expect(error, name).toBeInstanceOf(TypeError);
        expect(error, name).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
        // closeWouldReset() takes a listening net.Server too, and says so.
        const expected = name === 'closeWouldReset' ? /^The "target" argument must be an instance of net\.Socket or net\.Server, or of type number\. Received / : /^The "target" argument must be an instance of net\.Socket or of type number\. Received /;
        expect((error as Error).message, name).toMatch(expected);
      }
    },
  );

  it('a dgram.Socket as target: ERR_SOCKCLOSE_NOT_TCP naming UDP from every function, as a UDP descriptor gets', async () => {
    const udp = dgram.createSocket('udp4');
    cleanups.push(() => void udp.close());
    for (const [name, error] of Object.entries(await failures(udp))) {
      expect(error, name).toBeInstanceOf(TypeError);
      expect(error, name).toMatchObject({ code: 'ERR_SOCKCLOSE_NOT_TCP', message: expect.stringContaining('dgram.Socket (UDP)') });
      expect((error as Error).message, name).toMatch(new RegExp(`^${name}\\(\\) needs a TCP`));
      // Those that refuse AF_UNIX too do not offer it (setLinger() did).
      if (['setLinger', 'getLinger', 'hardReset'].includes(name)) expect((error as Error).message, name).toMatch(/needs a TCP socket;/);
    }
    // lingeringClose() takes sockets only, and says the same.
    await expect(sockclose.lingeringClose(udp as unknown as net.Socket)).rejects.toMatchObject({
      code: 'ERR_SOCKCLOSE_NOT_TCP',
      message: expect.stringContaining('dgram.Socket (UDP)'),
    });
  });

  it.each([[2 ** 40], [3.5], ['7'], [Number.NaN]])('a socket whose handle reports fd %s: ERR_SOCKCLOSE_NO_FD, never the value', async (fd) => {
    const listener = net.createServer().listen(0, '127.0.0.1');
    cleanups.push(() => void listener.close());
    await nextEvent(listener, 'listening');
    const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
    cleanups.push(() => void client.destroy());
    await nextEvent(client, 'connect');
    // Node's handle is what reports the number; stand in for one that reports a bad value.
    const internals = client as unknown as { _handle: object };
    const real = internals._handle;
    internals._handle = new Proxy(real, { get: (target, key) => (key === 'fd' ? fd : Reflect.get(target, key)) });
    cleanups.push(() => void (internals._handle = real));
    expect(() => sockclose.socketFd(client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NO_FD', message: expect.stringContaining(`handle.fd is ${String(fd)}`) }));
    // The same from every function that reads the number, the fast path's included (it must not
    // pass the value on). shutdownWrite() of a socket never reads it: it ends the stream.
    const { shutdownWrite: _, ...readers } = await failures(client);
    for (const [name, error] of Object.entries(readers)) {
      expect(error, name).toMatchObject({ code: 'ERR_SOCKCLOSE_NO_FD', message: expect.stringContaining(`${name}(): the socket has no file descriptor`) });
    }
  });

  it('a test double whose handle class is named TCP: ERR_SOCKCLOSE_NO_FD, and real sockets keep the fast path', () => {
    // In a fresh process, so that the double is the first TCP-named handle sockclose ever sees.
    const script = `
      const net = require('node:net');
      const sockclose = require(${JSON.stringify(path.resolve('lib/index.js'))});
      const symbolsOf = (handle) => Object.getOwnPropertySymbols(handle).map(String);
      class TCP {}
      const double = new net.Socket();
      double._handle = Object.assign(new TCP(), { fd: '3' });
      let code;
      try { sockclose.getLinger(double); } catch (error) { code = error.code; }
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const client = net.connect(server.address().port, '127.0.0.1', () => {
          sockclose.getLinger(client);
          process.stdout.write(JSON.stringify({ code, cached: symbolsOf(client._handle) }));
          client.destroy();
          server.close();
        });
      });`;
    const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 }));
    expect(result.code).toBe('ERR_SOCKCLOSE_NO_FD');
    // The fast path keeps a live handle's number on it (src/target.ts, kFd): it ran.
    expect(result.cached).toContain('Symbol(sockclose.fd)');
  });

  it.each([[-1], [1.5], [Number.NaN], [2 ** 31], [Infinity], [-0.5]])('%s as descriptor: RangeError ERR_OUT_OF_RANGE from every function', async (value) => {
    for (const [name, error] of Object.entries(await failures(value))) {
      expect(error, name).toBeInstanceOf(RangeError);
      expect(error, name).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    }
  });

  it('reports where the caller made the mistake, not where sockclose noticed it', () => {
    let error: unknown;
    try {
      sockclose.setLinger('nope' as unknown as number, 0);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TypeError);
    const firstFrame = (error as Error).stack!.split('\n')[1]!;
    expect(firstFrame).toContain('errors.test.ts');
  });
});

describe('misspelt options', () => {
  it('are refused with ERR_INVALID_ARG_VALUE naming the option meant, by every function that takes options, before anything changes', async () => {
    const { client, listener } = await tcpPair();
    cleanups.push(() => closeServer(listener), () => void client.destroy());
    const server = net.createServer();
    await listen(server);
    cleanups.push(() => closeServer(server));
    const refused = (call: () => unknown, key: string, meant: string) => {
      let error: unknown;
      try {
        call();
      } catch (thrown) {
        error = thrown;
      }
      expect(error, key).toBeInstanceOf(TypeError);
      expect(error, key).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      expect((error as Error).message, key).toContain(`The property 'options.${key}'`);
      expect((error as Error).message, key).toContain(`(did you mean '${meant}'?)`);
    };
    refused(() => sockclose.enableLingeringClose(server, { idle: 5 } as object), 'idle', 'idleTimeout');
    refused(() => sockclose.enableLingeringClose(server, { maxLinger: 5 } as object), 'maxLinger', 'maxLingering');
    refused(() => sockclose.auditCloses(server, { recnet: 5 } as object), 'recnet', 'recent');
    refused(() => sockclose.setLinger(client, 0, { blockin: true } as object), 'blockin', 'blocking');
    refused(() => sockclose.protectCluster({ froce: true } as object), 'froce', 'force');
    await expect(sockclose.lingeringClose(client, { maxTimout: 100 } as object)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringContaining("(did you mean 'maxTimeout'?)"),
    });
    // Nothing changed: the server takes both again, the socket is open, its linger still off.
    expect(client.destroyed).toBe(false);
    expect(sockclose.getLinger(client)).toMatchObject({ enabled: false });
    const audit = sockclose.auditCloses(server, { recent: 5 });
    cleanups.push(() => audit.stop());
    cleanups.push(sockclose.enableLingeringClose(server, { idleTimeout: 5 }));
    // A key far from any: every option is named.
    expect(() => sockclose.setLinger(client, 0, { zzzzzz: 1 } as object)).toThrow('(it has: blocking)');
  });
});

describe('system failures', () => {
  it('a closed descriptor number: EBADF with errno and syscall, from every function but socketFd', async () => {
    const file = fs.openSync(os.devNull, 'r');
    fs.closeSync(file); // its number is free now (and nothing of ours opens files meanwhile)
    const seen = await failures(file);
    expect(seen.socketFd).toBe('no error'); // a number is returned as given
    expect(Object.is(sockclose.socketFd(-0), 0)).toBe(true); // -0 is descriptor 0, as everywhere else
    for (const [name, error] of Object.entries(seen)) {
      if (name === 'socketFd') continue;
      expect(error, name).toMatchObject({ code: 'EBADF', errno: -os.constants.errno.EBADF, syscall: 'getsockopt' });
      expect((error as Error).message, name).toBe(`${name}(): getsockopt EBADF`);
    }
  });

  it('a descriptor of a file or a pipe: ENOTSOCK, and it stays open', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockclose-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = fs.openSync(path.join(dir, 'f'), 'w+');
    cleanups.push(() => fs.closeSync(file));
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const pipe = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    cleanups.push(() => fs.closeSync(pipe));
    for (const fd of [file, pipe]) {
      for (const [name, error] of Object.entries(await failures(fd))) {
        if (name === 'socketFd') continue;
        expect(error, name).toMatchObject({ code: 'ENOTSOCK', errno: -os.constants.errno.ENOTSOCK });
      }
      expect(() => fs.fstatSync(fd)).not.toThrow(); // hardReset did not close it
    }
  });
});

describe('sockets without a descriptor: ERR_SOCKCLOSE_NO_FD', () => {
  it('a socket never connected (shutdownWrite rejects rather than wait for a connection)', async () => {
    expect(() => sockclose.socketFd(new net.Socket())).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NO_FD' }));
    await expect(sockclose.shutdownWrite(new net.Socket())).rejects.toMatchObject({ code: 'ERR_SOCKCLOSE_NO_FD' });
  });

  it('a socket still resolving its host', () => {
    const socket = net.connect(9, 'localhost');
    socket.on('error', () => undefined);
    cleanups.push(() => void socket.destroy());
    for (const [name, call] of SYNC.filter(([n]) => n !== 'hardReset')) {
      expect(() => call(socket), name).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NO_FD' }));
    }
  });

  it('TLS over a JavaScript stream, which has no descriptor at all', async () => {
    const secure = await tlsOverJsStream(cleanups);
    for (const [name, call] of SYNC) {
      expect(() => call(secure), name).toThrow(expect.objectContaining({ code: 'ERR_SOCKCLOSE_NO_FD', message: expect.stringContaining('JSStream') }));
    }
  });
});
