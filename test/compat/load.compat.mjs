// Loading, entry points, errors, worker threads and the JavaScript-only mode, on whatever Node
// runs this file (the matrix runs it on every line sockclose claims, 18 included).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import test from 'node:test';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

import { closeAll, libIndex, nextEvent, root, sockclose, tcpPair, tempDir, within } from './helpers.mjs';

const require = createRequire(import.meta.url);

test('loads its native binary (the one expected, when the runner names it)', () => {
  const capabilities = sockclose.capabilities();
  assert.equal(capabilities.native, true, `JavaScript-only mode: ${capabilities.reason}`);
  assert.equal(capabilities.platform, 'linux');
  assert.equal(capabilities.reason, null);
  assert.ok(fs.statSync(capabilities.binary).isFile());
  if (process.env.SOCKCLOSE_COMPAT_EXPECT_BINARY) {
    assert.equal(capabilities.binary, path.resolve(process.env.SOCKCLOSE_COMPAT_EXPECT_BINARY));
  }
});

test('the ES module entry re-exports every CommonJS export by name', async () => {
  const esm = await import(pathToFileURL(path.join(root, 'lib', 'index.mjs')).href);
  const names = Object.keys(sockclose).filter((name) => name !== '__esModule');
  assert.ok(names.includes('hardReset') && names.includes('peekSocketError'));
  for (const name of names) assert.equal(esm[name], sockclose[name], name);
  assert.equal(esm.default, sockclose);
});

test('every entry point package.json names loads here: each exported subpath, each bin', async () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const subpaths = Object.entries(manifest.exports ?? {}).filter(([subpath]) => !subpath.endsWith('.json'));
  assert.ok(subpaths.length > 0);
  for (const [subpath, target] of subpaths) {
    const cjs = require(path.join(root, target.require.default));
    const esm = await import(pathToFileURL(path.join(root, target.import.default)).href);
    const names = Object.keys(cjs).filter((name) => name !== '__esModule');
    assert.ok(names.length > 0, `${subpath} exports nothing`);
    for (const name of names) assert.equal(esm[name], cjs[name], `${subpath}: ${name}`);
  }
  const bins = typeof manifest.bin === 'string' ? { [manifest.name]: manifest.bin } : (manifest.bin ?? {});
  for (const [name, file] of Object.entries(bins)) {
    const result = spawnSync(process.execPath, [path.join(root, file), '--help'], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(result.status, 0, `${name} --help: ${result.stderr}`);
    assert.match(result.stdout, /usage/i);
  }
});

test("bad arguments fail like Node's own", async () => {
  assert.throws(() => sockclose.socketFd('3'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => sockclose.inspectSocket({}), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => sockclose.socketFd(-1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => sockclose.getLinger(1.5), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  const { client, server, listener } = await tcpPair();
  try {
    assert.throws(() => sockclose.setLinger(server, -1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => sockclose.setLinger(server, '5'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  } finally {
    closeAll(client, server, listener);
  }
});

test('system errors carry code, errno and syscall (a file descriptor, a closed one)', () => {
  const dir = tempDir();
  const fd = fs.openSync(path.join(dir, 'not-a-socket'), 'w');
  try {
    assert.throws(() => sockclose.inspectSocket(fd), (error) => {
      assert.equal(error.code, 'ENOTSOCK');
      assert.ok(error.errno < 0);
      assert.equal(typeof error.syscall, 'string');
      return true;
    });
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // Far above any descriptor this process has open (the soft limit is far lower).
  assert.throws(() => sockclose.getLinger(1 << 30), { code: 'EBADF' });
});

test('a destroyed socket is never touched: every call fails with ERR_SOCKCLOSE_CLOSED', async () => {
  const { client, server, listener } = await tcpPair();
  try {
    const closed = nextEvent(server, 'close');
    server.destroy();
    await closed;
    for (const name of ['socketFd', 'inspectSocket', 'peekSocketError', 'takeSocketError', 'getLinger', 'closeWouldReset', 'hardReset']) {
      assert.throws(() => sockclose[name](server), { code: 'ERR_SOCKCLOSE_CLOSED' }, name);
    }
    assert.throws(() => sockclose.setLinger(server, 0), { code: 'ERR_SOCKCLOSE_CLOSED' });
    await assert.rejects(sockclose.shutdownWrite(server), { code: 'ERR_SOCKCLOSE_CLOSED' });
  } finally {
    closeAll(client, listener);
  }
});

test('works in several worker threads at once', async () => {
  const source = `
    const { parentPort } = require('node:worker_threads');
    const net = require('node:net');
    const sockclose = require(${JSON.stringify(libIndex)});
    const listener = net.createServer((socket) => {
      const state = sockclose.inspectSocket(socket).state;
      socket.on('close', () => {
        listener.close();
        client.destroy();
        parentPort.postMessage({ native: sockclose.capabilities().native, state });
      });
      sockclose.hardReset(socket);
    });
    let client;
    listener.listen(0, '127.0.0.1', () => {
      client = net.connect(listener.address().port, '127.0.0.1');
      client.on('error', () => {});
    });
  `;
  const workers = [0, 1, 2].map(() => new Worker(source, { eval: true }));
  try {
    const results = await within(
      Promise.all(workers.map((worker) => nextEvent(worker, 'message').then(([message]) => message))),
      10_000,
      'three workers',
    );
    for (const result of results) assert.deepEqual(result, { native: true, state: 'ESTABLISHED' });
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
});

test('without a usable binary it still loads: JS paths work, the rest throws ERR_SOCKCLOSE_UNSUPPORTED', () => {
  const script = `
    const assert = require('node:assert/strict');
    const { execFileSync } = require('node:child_process');
    const net = require('node:net');
    const sockclose = require(${JSON.stringify(libIndex)});
    const capabilities = sockclose.capabilities();
    assert.equal(capabilities.native, false);
    assert.match(capabilities.reason, /no usable native binary/);
    let closed = 0;
    const done = () => {
      if (++closed < 2) return;
      // A FIN close by the server would leave it in TIME-WAIT; a reset leaves nothing.
      // Filtered by both ports: an older connection's TIME-WAIT may share the listener's port.
      const port = listener.address().port;
      const filter = '( sport = :' + port + ' and dport = :' + clientPort + ' ) or ( sport = :' + clientPort + ' and dport = :' + port + ' )';
      const rows = execFileSync('ss', ['-Htan', filter], { encoding: 'utf8' });
      assert.equal(rows.trim(), '', 'left of the connection: ' + rows);
      listener.close();
      console.log('reset through resetAndDestroy');
    };
    let clientPort = -1;
    const listener = net.createServer((socket) => {
      clientPort = socket.remotePort;
      assert.throws(() => sockclose.peekSocketError(socket), { code: 'ERR_SOCKCLOSE_UNSUPPORTED' });
      assert.throws(() => sockclose.inspectSocket(socket), { code: 'ERR_SOCKCLOSE_UNSUPPORTED' });
      socket.on('close', done);
      sockclose.hardReset(socket); // Node's resetAndDestroy() path
    });
    listener.listen(0, '127.0.0.1', () => {
      const client = net.connect(listener.address().port, '127.0.0.1');
      client.on('error', () => {});
      client.on('close', done);
    });
    setTimeout(() => { console.error('timed out'); process.exit(3); }, 5000).unref();
  `;
  const dir = tempDir();
  let result;
  try {
    result = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, SOCKCLOSE_BINARY: path.join(dir, 'absent', 'sockclose.node') },
      encoding: 'utf8',
      timeout: 15_000,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /reset through resetAndDestroy/);
});

test('a Unix-domain socket is inspected, and refuses what only TCP means', async () => {
  const dir = tempDir();
  const file = path.join(dir, 's.sock');
  const listener = net.createServer();
  listener.listen(file);
  await nextEvent(listener, 'listening');
  const accepted = nextEvent(listener, 'connection');
  const client = net.connect(file);
  await nextEvent(client, 'connect');
  const [server] = await accepted;
  try {
    const inspection = sockclose.inspectSocket(server);
    assert.equal(inspection.family, 'unix');
    assert.equal(inspection.state, 'ESTABLISHED');
    assert.throws(() => sockclose.setLinger(server, 0), { code: 'ERR_SOCKCLOSE_NOT_TCP' });
    assert.throws(() => sockclose.hardReset(server), { code: 'ERR_SOCKCLOSE_NOT_TCP' });
  } finally {
    closeAll(client, server, listener);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('IPv6 loopback, where the machine has it', async (t) => {
  const probe = net.createServer();
  const bound = await new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => resolve(true));
  });
  probe.close();
  if (!bound) {
    t.skip('no ::1 on this machine');
    return;
  }
  const { client, server, listener } = await tcpPair('::1');
  try {
    assert.equal(sockclose.inspectSocket(server).family, 'IPv6');
    assert.equal(sockclose.inspectSocket(client).state, 'ESTABLISHED');
  } finally {
    closeAll(client, server, listener);
  }
});
