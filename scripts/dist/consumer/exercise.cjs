// Uses an installed sockclose on real loopback sockets, the way an application would, and prints
// one JSON line: what loaded (Node, arch, binary and its SHA-256) and the checks that passed. Exits
// non-zero with the failed check on stderr. Plain CommonJS that Node 18 runs, so the same program
// serves the installed-tarball consumers, the arm64 binary under qemu and the Node-version matrix.
//
// Usage: exercise(api, { expectBinary }) from a consumer, or run directly:
//   node exercise.cjs <module specifier or path> [expected binary path suffix]
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');

const STEP_MS = 5000;

/** Resolves with the first of `events` on `emitter` (as [event, ...args]); rejects after `ms`. */
function firstEvent(emitter, events, ms = STEP_MS) {
  return new Promise((resolve, reject) => {
    const handlers = new Map();
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms} ms waiting for ${events.join(' / ')}`));
    }, ms);
    const cleanup = () => {
      clearTimeout(timer);
      for (const [event, handler] of handlers) emitter.off(event, handler);
    };
    for (const event of events) {
      const handler = (...args) => {
        cleanup();
        resolve([event, ...args]);
      };
      handlers.set(event, handler);
      emitter.on(event, handler);
    }
  });
}

/** Polls `condition` every few ms, for a kernel state change that emits no event; bounded by `ms`. */
async function until(condition, what, ms = STEP_MS) {
  const deadline = Date.now() + ms;
  for (let delay = 1; ; delay = Math.min(delay * 2, 25)) {
    if (condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * A connected TCP pair on 127.0.0.1 with an ephemeral port. The client is paused before it
 * connects, so Node never starts reading it: an RST then stays pending in the kernel instead of
 * surfacing as an 'error' that destroys the socket.
 */
async function tcpPair() {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await firstEvent(listener, ['listening']);
  const accepted = firstEvent(listener, ['connection']);
  const client = net.connect(listener.address().port, '127.0.0.1');
  client.pause();
  const [connected] = await firstEvent(client, ['connect', 'error']);
  if (connected !== 'connect') throw new Error('loopback connect failed');
  const [, server] = await accepted;
  return { listener, client, server };
}

/**
 * Runs the checks against `api` (the module's exports). `expectBinary`: a path suffix the loaded
 * binary must end with (proves which binary was used: the prebuild, not a local build).
 */
async function exercise(api, { expectBinary } = {}) {
  const passed = [];
  const check = (name, fn) => {
    fn();
    passed.push(name);
  };

  const capabilities = api.capabilities();
  check('capabilities: native binary loaded', () => assert.equal(capabilities.native, true, `not native: ${capabilities.reason}`));
  if (expectBinary) {
    check('capabilities: the expected binary', () =>
      assert.ok(capabilities.binary.endsWith(expectBinary), `${capabilities.binary} does not end with ${expectBinary}`));
  }
  check('ErrorCodes exported', () => assert.equal(api.ErrorCodes.CLOSED, 'ERR_SOCKCLOSE_CLOSED'));
  check('bad input is a TypeError ERR_INVALID_ARG_TYPE', () =>
    assert.throws(() => api.socketFd('x'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));

  // 1. The accepted side resets; the client, paused so Node never reads the RST, keeps it pending.
  const first = await tcpPair();
  try {
    check('socketFd of a live socket', () => assert.ok(api.socketFd(first.server) > 2));
    check('inspectSocket: ESTABLISHED', () => {
      const inspection = api.inspectSocket(first.server);
      assert.equal(inspection.state, 'ESTABLISHED');
      assert.equal(inspection.family, 'IPv4');
      assert.equal(inspection.fd, api.socketFd(first.server));
    });
    check('peekSocketError: nothing pending yet', () => assert.equal(api.peekSocketError(first.client), null));
    check('setLinger / getLinger round trip', () => {
      api.setLinger(first.server, 0);
      assert.deepEqual(api.getLinger(first.server), { enabled: true, seconds: 0, emulated: false });
      assert.equal(api.closeWouldReset(first.server), true);
      api.setLinger(first.server, false);
      assert.equal(api.getLinger(first.server).enabled, false);
    });
    const closed = firstEvent(first.server, ['close']);
    api.hardReset(first.server);
    await closed;
    check('hardReset destroys the socket', () => assert.equal(first.server.destroyed, true));
    await until(() => api.inspectSocket(first.client).state === 'CLOSE', 'the client sees the RST (state CLOSE)');
    check('peekSocketError: ECONNRESET, twice, without consuming it', () => {
      assert.equal(api.peekSocketError(first.client)?.code, 'ECONNRESET');
      assert.equal(api.peekSocketError(first.client)?.code, 'ECONNRESET');
    });
    check('takeSocketError consumes it', () => {
      assert.equal(api.takeSocketError(first.client)?.code, 'ECONNRESET');
      assert.equal(api.takeSocketError(first.client), null);
    });
  } finally {
    first.client.destroy();
    first.listener.close();
  }

  // 2. A destroyed socket is never touched again.
  const second = await tcpPair();
  try {
    const closed = firstEvent(second.client, ['close']);
    second.client.destroy();
    await closed;
    check('a destroyed socket throws ERR_SOCKCLOSE_CLOSED', () =>
      assert.throws(() => api.inspectSocket(second.client), { code: 'ERR_SOCKCLOSE_CLOSED' }));
    await api.shutdownWrite(second.server);
    check('shutdownWrite resolves', () => assert.equal(second.server.writableFinished, true));
  } finally {
    second.server.destroy();
    second.listener.close();
  }

  const binary = capabilities.binary;
  return {
    node: process.version,
    arch: process.arch,
    platform: capabilities.platform,
    binary,
    binarySha256: crypto.createHash('sha256').update(fs.readFileSync(binary)).digest('hex'),
    passed,
  };
}

module.exports = { exercise };

if (require.main === module) {
  const [specifier, expectBinary] = process.argv.slice(2);
  if (!specifier) {
    console.error('usage: node exercise.cjs <module specifier or path> [expected binary path suffix]');
    process.exit(2);
  }
  exercise(require(specifier), { expectBinary }).then(
    (report) => console.log(JSON.stringify(report)),
    (error) => {
      console.error(error && error.stack ? error.stack : error);
      process.exit(1);
    },
  );
}
