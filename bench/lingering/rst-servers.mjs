// The servers bench:rst measures, in their own process (so that the judges' work does not share
// their event loop): for each mode, plain Node and Node with enableLingeringClose(),
// - the seed 004 server: 600,000 bytes on connection, then destroySoon(); it never reads (the
//   client's 4 bytes stay unread), as the C server of the seed;
// - an http server: 413 + `Connection: close` to a POST whose body it never reads, and a
//   `Connection: close` 200 to a GET (which the judges send with a body).
// Prints {"plain": {"seed004": port, "http": port}, "lingering": {...}} once listening; answers
// "stats" on stdin with the lingering servers' counters; exits when stdin closes.
import http from 'node:http';
import net from 'node:net';
import readline from 'node:readline';

import { enableLingeringClose } from '../../lib/index.mjs';

export const SEED004_BYTES = 600_000;
const payload = Buffer.alloc(SEED004_BYTES, 'x');

function seed004Server() {
  return net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    socket.write(payload);
    socket.destroySoon();
  });
}

function reply(res, status, text) {
  res.writeHead(status, { Connection: 'close', 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function httpServer() {
  return http.createServer((req, res) => {
    if (req.method === 'POST') reply(res, 413, 'payload too large\n');
    else reply(res, 200, 'ok\n');
  });
}

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

const ports = {};
const controls = [];
for (const mode of ['plain', 'lingering']) {
  const seed004 = seed004Server();
  const web = httpServer();
  if (mode === 'lingering') controls.push(enableLingeringClose(seed004), enableLingeringClose(web));
  ports[mode] = { seed004: await listen(seed004), http: await listen(web) };
}
process.stdout.write(`${JSON.stringify(ports)}\n`);

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line.trim() !== 'stats') return;
  // The last connections may still be lingering (their clients have just closed): wait for them,
  // at most a few seconds, so that the counters are complete.
  for (let waited = 0; waited < 5000 && controls.some((control) => control.stats().lingering > 0); waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const [seed004, web] = controls.map((control) => control.stats());
  process.stdout.write(`${JSON.stringify({ seed004, http: web })}\n`);
});
process.stdin.on('end', () => process.exit(0));
