// The peer for bench/lingering/split.mjs: `count` HTTP/1.1 requests to 127.0.0.1:port, each on a
// new connection, `concurrency` at a time, ending each connection as wrk does (the server answers
// with `Connection: close`: on its FIN we end ours). A raw net client: cheaper than http.request,
// and what it costs is not counted (it runs in its own process). Exits 0 once every connection
// closed.
//
//   node bench/lingering/request-client.mjs <port> <count> <concurrency>
import net from 'node:net';

const [port, count, concurrency] = process.argv.slice(2).map(Number);
if (![port, count, concurrency].every((value) => Number.isInteger(value) && value > 0)) {
  console.error('usage: request-client.mjs <port> <count> <concurrency>');
  process.exit(2);
}
const request = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
let started = 0;
let closed = 0;

function next() {
  if (started >= count) return;
  started += 1;
  const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
  socket.resume();
  socket.on('end', () => socket.end());
  socket.on('error', () => {});
  socket.on('close', () => {
    closed += 1;
    if (closed === count) process.exit(0);
    next();
  });
}
for (let i = 0; i < Math.min(concurrency, count); i++) next();
