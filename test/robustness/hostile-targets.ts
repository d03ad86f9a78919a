// The things the bad-input matrix throws at every public function: wrong types, impossible
// numbers, descriptors that are not TCP sockets (or not open), and sockets in states where there is
// no descriptor to act on. Each builder makes a fresh target, so no case depends on another's
// leftovers, and registers its own cleanup.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Duplex } from 'node:stream';

import { closeServer, listen, portOf, tempDir, unixPair } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { tlsOverJsStream } from '../helpers/tls-over-js.js';
import { nextEvent, until, within } from '../helpers/wait.js';

/** How the documentation says a function treats a kind of target. */
export type TargetKind =
  | 'wrong-type'
  | 'udp-socket'
  | 'out-of-range'
  | 'closed-fd'
  | 'file-fd'
  | 'fifo-fd'
  | 'listening-fd'
  | 'udp-fd'
  | 'destroyed-socket'
  | 'never-connected'
  | 'connecting-no-fd'
  | 'syn-sent'
  | 'unix-socket'
  | 'tls-over-js'
  | 'listening-server'
  | 'closed-server';

export interface HostileTarget {
  readonly label: string;
  readonly kind: TargetKind;
  make(cleanups: Cleanups): Promise<unknown>;
}

export type Cleanups = (() => unknown)[];

const value = (label: string, kind: TargetKind, target: unknown): HostileTarget => ({ label, kind, make: async () => target });

export const WRONG_TYPES: HostileTarget[] = [
  value("a string '3'", 'wrong-type', '3'),
  value('null', 'wrong-type', null),
  value('undefined', 'wrong-type', undefined),
  value('true', 'wrong-type', true),
  value('a plain object', 'wrong-type', {}),
  value('an array [3]', 'wrong-type', [3]),
  value('a bigint 3n', 'wrong-type', 3n),
  value('a symbol', 'wrong-type', Symbol('fd')),
  value('a function', 'wrong-type', () => 3),
  value('a Number object', 'wrong-type', new Number(3)),
  value('an object with an fd', 'wrong-type', { fd: 3, _handle: { fd: 3 } }),
  value('a stream.Duplex', 'wrong-type', new Duplex({ read() {}, write(_c, _e, callback) { callback(); } })),
  {
    label: 'a dgram.Socket',
    kind: 'udp-socket',
    async make(cleanups) {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      cleanups.push(() => socket.close());
      return socket;
    },
  },
  // A net.Server is a target of closeWouldReset() only: the wrong type for everything else.
  {
    label: 'a listening net.Server',
    kind: 'listening-server',
    async make(cleanups) {
      const server = await listen(net.createServer());
      cleanups.push(() => closeServer(server));
      return server;
    },
  },
  {
    label: 'a closed net.Server',
    kind: 'closed-server',
    async make() {
      const server = await listen(net.createServer());
      await closeServer(server);
      return server;
    },
  },
];

export const OUT_OF_RANGE: HostileTarget[] = [
  value('-1', 'out-of-range', -1),
  value('-2**31', 'out-of-range', -(2 ** 31)),
  value('1.5', 'out-of-range', 1.5),
  value('NaN', 'out-of-range', Number.NaN),
  value('Infinity', 'out-of-range', Infinity),
  value('-Infinity', 'out-of-range', -Infinity),
  value('2**31', 'out-of-range', 2 ** 31),
  value('2**32 + 3 (3 if truncated to 32 bits)', 'out-of-range', 2 ** 32 + 3),
  value('Number.MAX_SAFE_INTEGER', 'out-of-range', Number.MAX_SAFE_INTEGER),
  value('1e300', 'out-of-range', 1e300),
  value('Number.EPSILON', 'out-of-range', Number.EPSILON),
];

/** A non-accepting listener (Python, backlog 0): connects to it after the first stay in SYN_SENT. */
export class StuckListener {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly filler: net.Socket,
  ) {}

  static async start(): Promise<StuckListener> {
    const script = path.join(import.meta.dirname, 'fixtures', 'stuck_listener.py');
    const child = spawn('python3', [script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const [line] = await within(nextEvent<[Buffer]>(child.stdout!, 'data'), 10_000, 'the stuck listener to print its port');
    const port = Number(String(line).trim());
    // The one connection the accept queue takes; every later SYN is dropped.
    const filler = net.connect(port, '127.0.0.1');
    await nextEvent(filler, 'connect');
    return new StuckListener(child, port, filler);
  }

  /** A socket in SYN_SENT, with a descriptor. */
  async synSent(cleanups: Cleanups): Promise<net.Socket> {
    const socket = net.connect(this.port, '127.0.0.1');
    socket.on('error', () => undefined);
    cleanups.push(() => socket.destroy());
    await until(() => (socket as net.Socket & { _handle: { fd: number } | null })._handle!.fd >= 0, 5000, 'the connecting socket to get a descriptor');
    await until(() => sockclose.inspectSocket(socket).state === 'SYN_SENT', 5000, 'SYN_SENT');
    return socket;
  }

  async stop(): Promise<void> {
    this.filler.destroy();
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    await within(exited, 5000, 'the stuck listener to exit');
  }
}

/** Targets that need real resources; `stuck` provides sockets that stay mid-connect. */
export function resourceTargets(stuck: () => StuckListener): HostileTarget[] {
  return [
    {
      label: 'a closed descriptor number',
      kind: 'closed-fd',
      async make() {
        const fd = fs.openSync('/dev/null', 'r');
        fs.closeSync(fd);
        return fd;
      },
    },
    value('2**31 - 1 (valid number, never open)', 'closed-fd', 2 ** 31 - 1),
    {
      label: 'a regular file descriptor',
      kind: 'file-fd',
      async make(cleanups) {
        const dir = tempDir('sockclose-robust-');
        const fd = fs.openSync(path.join(dir, 'file'), 'w+');
        cleanups.push(() => {
          expectOpen(fd);
          fs.closeSync(fd);
          fs.rmSync(dir, { recursive: true, force: true });
        });
        return fd;
      },
    },
    {
      label: 'a FIFO descriptor',
      kind: 'fifo-fd',
      async make(cleanups) {
        const dir = tempDir('sockclose-robust-');
        const fifo = path.join(dir, 'fifo');
        execFileSync('mkfifo', [fifo]);
        const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
        cleanups.push(() => {
          expectOpen(fd);
          fs.closeSync(fd);
          fs.rmSync(dir, { recursive: true, force: true });
        });
        return fd;
      },
    },
    {
      label: "a listening socket's descriptor",
      kind: 'listening-fd',
      async make(cleanups) {
        const server = await listen(net.createServer());
        cleanups.push(() => closeServer(server));
        return (server as net.Server & { _handle: { fd: number } })._handle.fd;
      },
    },
    {
      label: "a UDP socket's descriptor",
      kind: 'udp-fd',
      async make(cleanups) {
        const socket = dgram.createSocket('udp4');
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
        cleanups.push(() => socket.close());
        // dgram's `_handle` getter is deprecated (DEP0112) and warns; its state record is not.
        const state = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'state symbol');
        const fd = state && (socket as unknown as Record<symbol, { handle?: { fd?: number } }>)[state]?.handle?.fd;
        if (typeof fd !== 'number' || fd < 0) throw new Error("cannot read the UDP socket's descriptor from dgram's state");
        return fd;
      },
    },
    {
      label: 'a destroyed socket',
      kind: 'destroyed-socket',
      async make(cleanups) {
        const server = await listen(net.createServer((peer) => peer.on('error', () => undefined)));
        cleanups.push(() => closeServer(server));
        const socket = net.connect(portOf(server), '127.0.0.1');
        await nextEvent(socket, 'connect');
        const closed = nextEvent(socket, 'close');
        socket.destroy();
        await closed;
        return socket;
      },
    },
    value('a socket never connected (new net.Socket())', 'never-connected', new net.Socket()),
    {
      label: 'a socket in the tick of net.connect() (no descriptor yet)',
      kind: 'connecting-no-fd',
      async make(cleanups) {
        const server = await listen(net.createServer((peer) => peer.on('error', () => undefined)));
        cleanups.push(() => closeServer(server));
        // Returned synchronously from the builder's last step: the call under test runs in the
        // same tick, before libuv has created the descriptor.
        return { connectNow: () => {
          const socket = net.connect(portOf(server), '127.0.0.1');
          socket.on('error', () => undefined);
          cleanups.push(() => socket.destroy());
          return socket;
        } };
      },
    },
    {
      label: 'a socket mid-connect (SYN_SENT, has a descriptor)',
      kind: 'syn-sent',
      make: (cleanups) => stuck().synSent(cleanups),
    },
    {
      label: 'an AF_UNIX socket',
      kind: 'unix-socket',
      async make(cleanups) {
        const { client, server, listener, dir } = await unixPair();
        cleanups.push(async () => {
          client.destroy();
          server.destroy();
          await closeServer(listener);
          fs.rmSync(dir, { recursive: true, force: true });
        });
        return client;
      },
    },
    {
      label: 'TLS over a JavaScript stream (no descriptor at all)',
      kind: 'tls-over-js',
      make: (cleanups) => tlsOverJsStream(cleanups),
    },
  ];
}

function expectOpen(fd: number): void {
  // fstat throws EBADF if a call closed the descriptor (hardReset closes only TCP sockets).
  fs.fstatSync(fd);
}
