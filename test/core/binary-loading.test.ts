// How the binary is loaded: each copy of the JavaScript gets its own instance of the addon, even
// from one file (two installs pointed at one binary, or a module cache cleared and the package
// required again, as jest.resetModules() does): its own probe record, lingerer and report sink. And
// a binary that cannot work here (cut short, built for another machine) is refused with a reason,
// in JavaScript-only mode, before the dynamic loader maps it (a truncated file killed the process
// with SIGBUS inside dlopen()).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { closeServer, listen, portOf, tempDir } from '../helpers/net.js';
import { copyOfPackage } from '../helpers/package-copy.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A copy of the package's JavaScript (no binary of its own), removed after the test. */
function copyOfJavaScript(): string {
  const copy = copyOfPackage('sockclose-copy-');
  cleanups.push(() => fs.rmSync(copy, { recursive: true, force: true }));
  return copy;
}

/** capabilities() of the package with SOCKCLOSE_BINARY=`binary`, in a fresh process (which must survive). */
function capabilitiesWith(binary: string): { native: boolean; reason: string | null } {
  const out = execFileSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(path.join(root, 'lib', 'index.js'))}).capabilities()))`], {
    env: { ...process.env, SOCKCLOSE_BINARY: binary },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { native: boolean; reason: string | null };
}

describe('loading the binary', () => {
  it('two copies of the JavaScript on one binary file each read their own probes and get their own reports', async () => {
    const binary = sockclose.capabilities().binary!;
    const copy = copyOfJavaScript();
    const explicit = process.env.SOCKCLOSE_BINARY;
    process.env.SOCKCLOSE_BINARY = binary; // the copy loads the very file this package did
    let other: typeof sockclose;
    try {
      other = createRequire(import.meta.url)(path.join(copy, 'lib', 'index.js')) as typeof sockclose;
      // The binary is loaded at the first native call.
      expect(other.capabilities()).toMatchObject({ native: true, binary });
    } finally {
      if (explicit === undefined) delete process.env.SOCKCLOSE_BINARY;
      else process.env.SOCKCLOSE_BINARY = explicit;
    }

    // A connection with 1,000 bytes the server has not read.
    const accepted = new Promise<net.Socket>((resolve) => {
      const srv = net.createServer({ pauseOnConnect: true }, (socket) => {
        socket.on('error', () => {});
        resolve(socket);
      });
      void listen(srv).then(() => {
        cleanups.push(() => closeServer(srv));
        const client = net.connect(portOf(srv), '127.0.0.1', () => client.write(Buffer.alloc(1000)));
        client.on('error', () => {});
        cleanups.push(() => void client.destroy());
      });
    });
    const socket = await within(accepted, 5000, 'the connection');
    await until(() => sockclose.inspectSocket(socket).unreadBytes === 1000, 5000, 'the bytes to arrive');
    // The copy probes another socket (an idle one), then this package probes again.
    const idle = net.createServer();
    await listen(idle);
    cleanups.push(() => closeServer(idle));
    const idleClient = net.connect(portOf(idle), '127.0.0.1');
    cleanups.push(() => void idleClient.destroy());
    await nextEvent(idleClient, 'connect');
    expect(other!.inspectSocket(idleClient).unreadBytes).toBe(0);
    expect(sockclose.inspectSocket(socket).unreadBytes).toBe(1000);
    expect(other!.inspectSocket(socket).unreadBytes).toBe(1000);

    // Each copy's lingering close reports to that copy (the copy loaded second must not take the
    // first's report sink): this package's close of the socket, the copy's of the idle client.
    const ours = sockclose.lingeringClose(socket, { idleTimeout: 5000 });
    const theirs = other!.lingeringClose(idleClient, { idleTimeout: 5000 });
    const [a, b] = await within(Promise.all([ours, theirs]), 10_000, 'both reports');
    // Each peer answers the FIN with its own (neither allows half-open sockets).
    expect(a).toMatchObject({ reason: 'eof', drainedBytes: 1000 });
    expect(b).toMatchObject({ reason: 'eof', drainedBytes: 0 });
    expect(sockclose.lingeringCloseStats().lingering).toBe(0);
    expect(other!.lingeringCloseStats().lingering).toBe(0);
  });

  it('a binary cut short is refused with the reason, and the process lives on (dlopen() of it died of SIGBUS)', () => {
    const dir = tempDir('sockclose-bad-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const whole = fs.readFileSync(sockclose.capabilities().binary!);
    for (const bytes of [64, 1000, 20_000, whole.length - 1]) {
      const file = path.join(dir, `cut-${bytes}.node`);
      fs.writeFileSync(file, whole.subarray(0, bytes));
      const seen = capabilitiesWith(file);
      expect(seen.native, `${bytes} bytes`).toBe(false);
      expect(seen.reason, `${bytes} bytes`).toMatch(new RegExp(`^no usable native binary \\(.*cut-${bytes}\\.node: truncated: ${bytes} bytes, its ELF headers need ${whole.length}\\)$`));
    }
  });

  it('a binary for another machine is refused as such, not as a missing file', () => {
    const dir = tempDir('sockclose-bad-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const other = Buffer.from(fs.readFileSync(sockclose.capabilities().binary!));
    // e_machine (little-endian on both): this process's architecture swapped for the other one.
    const [foreign, name] = process.arch === 'arm64' ? [62, 'x64'] : [183, 'arm64'];
    other.writeUInt16LE(foreign, 18);
    const file = path.join(dir, 'other.node');
    fs.writeFileSync(file, other);
    expect(capabilitiesWith(file)).toMatchObject({ native: false, reason: `no usable native binary (${file}: built for ${name}, this process is ${process.arch})` });
  });
});
