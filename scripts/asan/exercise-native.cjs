// Exercises every function of sockclose's native binary, on every path it has: success, each
// failure (EBADF, ENOTSOCK, EINVAL…), every probe field on every kind of descriptor, bad arguments
// that make the addon throw, and addon instances created and destroyed in worker_threads. Run by
// scripts/asan/valgrind.js under valgrind (and usable alone). Repeats each path many times so that a
// per-call leak would add up to something unmistakable. Prints a JSON line of what was called.
//   node scripts/asan/exercise-native.cjs [repetitions]
'use strict';
const { spawn } = require('node:child_process');
const dgram = require('node:dgram');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

// dgram exposes no descriptor but through its deprecated _handle: keep the warning out of the log.
process.noDeprecation = true;
const root = path.resolve(__dirname, '..', '..');
const sockclose = require(path.join(root, 'lib', 'index.js'));
const { binding } = require(path.join(root, 'lib', 'native', 'binding.js'));

const repetitions = Number(process.argv[2] ?? 200);
// SOCKCLOSE_EXERCISE_TRACE=1: each stage on stderr (to find where a slow run under valgrind is).
let stage = 'start';
const trace = (what) => {
  stage = what;
  if (process.env.SOCKCLOSE_EXERCISE_TRACE === '1') process.stderr.write(`[exercise] ${what}\n`);
};
// A run that stops making progress fails loudly, naming its stage, instead of stalling CI.
if (isMainThread) {
  setTimeout(() => {
    console.error(`exercise-native: no end after 300 s, at stage "${stage}"`);
    process.exit(1);
  }, 300_000).unref();
}
const calls = {};
const count = (key) => (calls[key] = (calls[key] ?? 0) + 1);

function expectThrow(what, fn) {
  try {
    fn();
  } catch (error) {
    count(`${what} threw ${error.code}`);
    return;
  }
  throw new Error(`${what} did not throw`);
}

async function pair(host = '127.0.0.1') {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, host, resolve));
  const accepted = new Promise((resolve) => server.once('connection', resolve));
  const client = net.connect(server.address().port, host);
  await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
  const peer = await accepted;
  for (const socket of [client, peer]) socket.on('error', () => {});
  return { server, client, peer };
}

/**
 * A descriptor number no thread can be given: the soft limit on open files (numbers run from 0 to
 * the limit less one). A number merely closed could be reused at once by another thread (Node's
 * platform threads, a worker starting), and closing it twice would then close someone else's file.
 */
function numberNeverOpen() {
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  const soft = /^Max open files\s+(\d+)/m.exec(limits);
  if (!soft) throw new Error(`no "Max open files" soft limit in /proc/self/limits:\n${limits}`);
  return Number(soft[1]);
}

/** The raw binding, every function, every argument shape. */
function exerciseBinding(native, fds) {
  const record = new Float64Array(native.slots.length);
  for (let r = 0; r < repetitions; r++) {
    for (const [kind, fd] of Object.entries(fds)) {
      for (let fields = 0; fields < 128; fields += r % 2 === 0 ? 1 : 7) count(`probe ${kind} ${native.probe(fd, fields) < 0 ? 'error' : 'ok'}`);
      count(`getLinger ${kind} ${native.getLinger(fd) < 0 ? 'error' : 'ok'}`);
      count(`takeError ${kind} ${native.takeError(fd) < 0 ? 'error' : 'ok'}`);
      count(`pollRevents ${kind} ${native.pollRevents(fd) < 0 ? 'error' : 'ok'}`);
      count(`resetHints ${kind} ${native.resetHints(fd) < 0 ? 'error' : 'ok'}`);
      if (kind !== 'file') count(`setLinger ${kind} ${native.setLinger(fd, r % 2 === 0 ? r % 3 : -1) < 0 ? 'error' : 'ok'}`);
      if (kind !== 'file') count(`lingerOff ${kind} ${native.lingerOff(fd) < 0 ? 'error' : 'ok'}`);
      if (kind !== 'file') count(`lingerAbortive ${kind} ${native.lingerAbortive(fd) < 0 ? 'error' : 'ok'}`);
      count(`handedOut ${kind} ${native.handedOut(fd) < 0 ? 'error' : 'ok'}`);
      count(`handedOutHeld ${kind} ${native.handedOutHeld(fd)}`);
    }
    // Bad arguments: the addon's own checks throw (these guard misuse of the internal module).
    expectThrow('probe(string)', () => native.probe('3', 1));
    expectThrow('probe(-1)', () => native.probe(-1, 1));
    expectThrow('probe(1.5)', () => native.probe(1.5, 1));
    expectThrow('probe(NaN)', () => native.probe(Number.NaN, 1));
    expectThrow('probe(2**31)', () => native.probe(2 ** 31, 1));
    expectThrow('probe(fd, missing)', () => native.probe(0));
    expectThrow('setLinger(fd, -2)', () => native.setLinger(0, -2));
    expectThrow('getLinger()', () => native.getLinger());
    expectThrow('takeError({})', () => native.takeError({}));
    expectThrow('pollRevents(-1)', () => native.pollRevents(-1));
    expectThrow('resetHints(1.5)', () => native.resetHints(1.5));
    expectThrow('lingerOff(-1)', () => native.lingerOff(-1));
    expectThrow('lingerAbortive("3")', () => native.lingerAbortive('3'));
    expectThrow('shutdownWrite(null)', () => native.shutdownWrite(null));
    expectThrow('close(undefined)', () => native.close(undefined));
    expectThrow('handedOut(-1)', () => native.handedOut(-1));
    expectThrow('handedOutHeld("3")', () => native.handedOutHeld('3'));
    expectThrow('attach(array)', () => native.attach([1, 2, 3]));
    expectThrow('attach(short)', () => native.attach(new Float64Array(2)));
    expectThrow('attach(Int32Array)', () => native.attach(new Int32Array(64)));
    // Re-attaching replaces the held record (the old reference must be released).
    native.attach(record);
    count(`shutdownWrite closed ${native.shutdownWrite(fds.closed)}`);
    count(`shutdownWrite file ${native.shutdownWrite(fds.file)}`);
    const file = fs.openSync(os.devNull, 'r');
    count(`close file ${native.close(file)}`);
    count(`close closed ${native.close(fds.closed)}`);
  }
  // A record whose ArrayBuffer is detached (transferred) after attach(): probe() must refuse it,
  // never write into the freed memory (issue 13).
  for (let r = 0; r < Math.min(repetitions, 20); r++) {
    const doomed = new Float64Array(native.slots.length);
    native.attach(doomed);
    structuredClone(doomed.buffer, { transfer: [doomed.buffer] });
    expectThrow('probe(detached record)', () => native.probe(fds.tcp, 127));
  }
  // Give the module back the record its JavaScript side reads.
  native.attach(require(path.join(root, 'lib', 'native', 'binding.js')).record);
}

/** The public API over real connections, including pending errors and resets. */
async function exercisePublic() {
  for (let r = 0; r < Math.max(10, repetitions / 10); r++) {
    const { server, client, peer } = await pair(r % 2 === 0 ? '127.0.0.1' : '::1');
    client.write('unread bytes');
    sockclose.setLinger(peer, 0);
    sockclose.getLinger(peer);
    sockclose.setLinger(peer, 2); // emulated
    sockclose.getLinger(peer);
    sockclose.setLinger(peer, false);
    sockclose.inspectSocket(peer);
    sockclose.inspectSocket(sockclose.socketFd(peer));
    sockclose.closeWouldReset(peer);
    sockclose.peekSocketError(peer);
    sockclose.takeSocketError(peer);
    await sockclose.shutdownWrite(client);
    // The peer resets: an error pends on the client side, peeked then taken. On loopback the RST
    // reaches the client's socket within hardReset()'s close, and Node reads it only in a later
    // turn of the loop: the error is there to peek now.
    const reset = new Promise((resolve) => client.once('close', resolve));
    sockclose.hardReset(peer);
    if (!client.destroyed) {
      count(`peek pending ${sockclose.peekSocketError(client)?.code ?? 'nothing'}`);
      sockclose.peekSocketError(client);
      sockclose.inspectSocket(client);
      sockclose.takeSocketError(client);
    }
    client.destroy();
    await reset;
    await new Promise((resolve) => server.close(resolve));
    count('public round');
  }
}

/** The native lingerer on each of its ends: eof, idle timeout, drain limit, reset, abortive, cut (aborted), bad arguments. */
async function exerciseLingering(native) {
  expectThrow('lingerStart without numbers', () => native.lingerStart('x'));
  expectThrow('lingerSink without a function', () => native.lingerSink(1));
  expectThrow('lingerCut without a number', () => native.lingerCut('x'));
  count(`lingerCut of no linger: ${native.lingerCut(0xffffffff)}`);
  expectThrow('lingerCutGroup without a number', () => native.lingerCutGroup({}));
  count(`lingerCutGroup of no group: ${native.lingerCutGroup(0xffffffff)}`);
  const ends = ['eof', 'idle', 'drain', 'reset', 'abortive', 'aborted'];
  for (let r = 0; r < Math.max(10, repetitions / 10); r++) {
    const end = ends[r % ends.length];
    trace(`lingering ${r} ${end}`);
    const { server, client, peer } = await pair();
    client.on('error', () => {});
    peer.on('error', () => {});
    peer.write('response');
    if (end === 'abortive') sockclose.setLinger(peer, 0);
    // 'aborted': cut once the native lingerer has it (Node's 'close'), long before its idle timeout.
    const controller = new AbortController();
    if (end === 'aborted') peer.once('close', () => controller.abort());
    const idleTimeout = end === 'aborted' ? 1500 : 50;
    const closing = sockclose.lingeringClose(peer, { idleTimeout, maxTimeout: 2000, maxDrainBytes: 1000, signal: controller.signal });
    client.once('end', () => {
      if (end === 'eof') client.end();
      if (end === 'drain') client.write(Buffer.alloc(64 * 1024));
      if (end === 'reset') client.resetAndDestroy();
    });
    // A paused client reads nothing, not even our FIN: it never answers it (the idle timeout).
    if (end !== 'idle' && end !== 'aborted') client.resume();
    const report = await closing.catch((error) => ({ reason: error.code }));
    trace(`lingering ${r} ${end}: ${report.reason}`);
    count(`lingering ${end}: ${report.reason}`);
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Linux: whether an epoll entry of this process (the lingerer's poller, or libuv's) names the socket of `inode`, armed for input. */
function armedFor(inode) {
  return epollMasks(inode).some((mask) => (mask & 1) !== 0);
}

function epollMasks(inode) {
  const masks = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let info;
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:[eventpoll]') continue;
      info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of info.split('\n')) {
      const entry = /^tfd:\s*\d+\s+events:\s*([0-9a-f]+).*\bino:([0-9a-f]+)/.exec(line);
      if (entry && Number.parseInt(entry[2], 16) === inode) masks.push(Number.parseInt(entry[1], 16));
    }
  }
  return masks;
}

/** Bytes in the receive queue of the TCP socket of `inode` (/proc/net/tcp), null if it has none. */
function receiveQueue(inode) {
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 10 && Number(fields[9]) === inode) return Number.parseInt(fields[4].split(':')[1], 16);
  }
  return null;
}

/** Polls `condition` (a kernel state, no event to wait on) for at most 30 s (valgrind is slow), then throws. */
async function until(condition, what) {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`exercise-native: no ${what} within 30 s`);
    // Not more often: each look reads /proc, and under valgrind allocation is what costs.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Linux: lingers the poller watches (its first read behind it) on each end: a trickle then the
 * peer's FIN (a wake-up and a re-arm per byte), a flood past the drain limit, a reset, and, with a
 * child holding the socket, the entry the epoll poller's close leaves behind firing after the linger.
 */
async function exerciseWatched() {
  if (process.platform !== 'linux') return;
  const ends = ['trickle', 'drain', 'reset', 'stale'];
  for (let r = 0; r < 8; r++) {
    const end = ends[r % ends.length];
    trace(`watched ${r} ${end}`);
    const { server, client, peer } = await pair();
    client.allowHalfOpen = true;
    const inode = Number(/^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${sockclose.socketFd(peer)}`))[1]);
    const holder =
      end === 'stale' ? spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'inherit', sockclose.socketFd(peer)] }) : null;
    if (holder) await new Promise((resolve) => holder.once('spawn', resolve));
    const ended = new Promise((resolve) => client.once('end', resolve));
    client.resume();
    peer.write('response');
    const closing = sockclose.lingeringClose(peer, {
      idleTimeout: end === 'stale' ? 100 : 20_000,
      maxTimeout: 30_000,
      maxDrainBytes: 64 * 1024,
      onTimeout: end === 'stale' ? 'close' : 'reset',
    });
    await ended;
    await until(() => armedFor(inode), 'watch of the linger');
    if (end === 'trickle') {
      for (let i = 0; i < 3; i++) {
        client.write('.');
        // Read (the receive queue empty: a wake-up of the poller) and watched again.
        await until(() => receiveQueue(inode) === 0 && armedFor(inode), 'the byte read and the watch re-armed');
      }
      client.end();
    }
    if (end === 'drain') client.write(Buffer.alloc(256 * 1024));
    if (end === 'reset') client.resetAndDestroy();
    const report = await closing.catch((error) => ({ reason: error.code }));
    count(`watched ${end}: ${report.reason}`);
    if (holder) {
      // The entry outlived our descriptor: the peer's bytes fire it once, with a key no linger has.
      client.write('after');
      await until(() => epollMasks(inode).every((mask) => mask === 1 << 30), 'the stale entry to fire');
      const exited = new Promise((resolve) => holder.once('exit', resolve));
      holder.stdin.end();
      await exited;
    }
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

async function main() {
  if (!sockclose.capabilities().native) throw new Error(`no native binary: ${sockclose.capabilities().reason}`);
  const native = binding();
  const tcp = await pair();
  const udp = dgram.createSocket('udp4');
  await new Promise((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const listener = net.createServer();
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const file = fs.openSync(os.devNull, 'r');
  const closed = numberNeverOpen();
  const fds = {
    tcp: sockclose.socketFd(tcp.client),
    listening: listener._handle.fd,
    udp: udp._handle.fd,
    file,
    closed,
  };
  exerciseBinding(native, fds);
  sockclose.setLinger(tcp.client, false);
  await exercisePublic();
  await exerciseLingering(native);
  await exerciseWatched();

  // Addon instances in other environments: each worker loads the binary (a new instance with its
  // own record), uses it, and exits or is terminated; its instance data must be freed.
  for (let i = 0; i < 4; i++) {
    trace(`worker ${i}`);
    // A worker to be terminated keeps its linger long (the cleanup hook must close it); one that
    // exits by itself lingers briefly (the process waits for a linger, as designed).
    const worker = new Worker(__filename, { workerData: { idleTimeout: i % 2 === 0 ? 60_000 : 500 } });
    // Listening for 'exit' from the start: a worker that exits before its message is delivered has
    // Node emit 'message' then 'exit' in one go, before a listener added after 'message' could be.
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await new Promise((resolve) => worker.once('message', resolve));
    if (i % 2 === 0) await worker.terminate();
    await exited;
    count('worker');
  }

  tcp.client.destroy();
  tcp.peer.destroy();
  tcp.server.close();
  listener.close();
  udp.close();
  fs.closeSync(file);
  process.stdout.write(`${JSON.stringify({ calls })}\n`);
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
} else {
  pair().then(async ({ server, client, peer }) => {
    sockclose.inspectSocket(client);
    sockclose.getLinger(peer);
    // A linger still running when the worker ends: the environment's cleanup hook closes it.
    peer.write('response');
    sockclose.lingeringClose(peer, { idleTimeout: workerData.idleTimeout, maxTimeout: 120_000 }).catch(() => {});
    client.resume();
    await new Promise((resolve) => client.once('end', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    server.close();
    parentPort.postMessage('done');
  });
}
