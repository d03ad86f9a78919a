// Runs one operation `warmup + n` times on a connected loopback socket and exits; meant to be run
// under `valgrind --tool=callgrind` twice with different n (bench/core/instructions.mjs), so that
// the difference of the two instruction totals divided by the difference of n is the cost of one
// call, with startup and JIT warm-up cancelled out. `node --predictable` makes V8 deterministic
// (no concurrent compiler threads, fixed hash seeds), so the totals repeat exactly.
//   node --predictable instructions-probe.cjs <operation> <n>
'use strict';
const net = require('node:net');
const path = require('node:path');

const sockclose = require('sockclose');
// Internals, only for the attribution rows (what the N-API call alone costs, what resolving a
// target costs); sockclose's exports map does not expose them, so load them by path.
const lib = path.join(path.dirname(require.resolve('sockclose')));
const { binding } = require(path.join(lib, 'native', 'binding.js'));
const { resolve, liveTcpFd } = require(path.join(lib, 'target.js'));

const [operation, count] = process.argv.slice(2);
const n = Number(count);

// The peer ignores the reset that closing after setLinger(0) sends.
const server = net.createServer((peer) => peer.on('error', () => {}));
server.listen(0, '127.0.0.1', () => {
  const client = net.connect(server.address().port, '127.0.0.1', () => {
    if (!sockclose.capabilities().native) throw new Error('the binary did not load');
    const fd = sockclose.socketFd(client);
    const native = binding();
    const operations = {
      empty: () => 0,
      setLinger: () => sockclose.setLinger(client, 0),
      getLinger: () => sockclose.getLinger(client),
      'getLinger:fd': () => sockclose.getLinger(fd),
      peekSocketError: () => sockclose.peekSocketError(client),
      inspectSocket: () => sockclose.inspectSocket(client),
      closeWouldReset: () => sockclose.closeWouldReset(client),
      takeSocketError: () => sockclose.takeSocketError(client),
      setNoDelay: (i) => client.setNoDelay(i % 2 === 0),
      'binding.getLinger': () => native.getLinger(fd),
      'binding.setLinger': () => native.setLinger(fd, 0),
      // peekSocketError's probe on Linux: Field.poll | Field.tcp
      'binding.probe:peek': () => native.probe(fd, 6),
      'binding.pollRevents': () => native.pollRevents(fd),
      'binding.resetHints': () => native.resetHints(fd),
      // inspectSocket's probe of a socket whose handle knows its family: every field but describe
      // and sockname
      'binding.probe:inspect': () => native.probe(fd, 62),
      resolve: () => resolve(client, sockclose.getLinger, 'tcp'),
      liveTcpFd: () => liveTcpFd(client),
      'handle.fd': () => client._handle.fd,
    };
    const call = operations[operation];
    if (!call) throw new Error(`unknown operation ${operation}`);
    // The binding's calls return -errno rather than throw: a failing one would be counted as a cheap one.
    if (operation.startsWith('binding.')) {
      const first = call(0);
      if (first < 0) throw new Error(`${operation} failed: ${first}`);
    }
    let sink = 0;
    // Batches in a function V8 optimises like any hot function (a single long loop would run
    // on-stack-replaced code, which is not what callers get).
    const batch = (size) => {
      for (let i = 0; i < size; i++) sink ^= call(i) ? 1 : 0;
    };
    for (let k = 0; k < 20; k++) batch(1000);
    for (let done = 0; done < n; done += 1000) batch(Math.min(1000, n - done));
    process.exit(sink & 0);
  });
});
