// Run under callgrind by bench:audit: an http server answering `Connection: close` and, in the same
// process, a raw client making `n` requests one after another (each a new connection and a
// server-side close). argv: mode (plain | audited | preload), n. The preload mode is run with
// --require lib/audit/preload.js by the caller; here it is plain code.
'use strict';
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const [mode, count] = [process.argv[2], Number(process.argv[3])];
const body = 'hello, world\n';
const server = http.createServer((_req, res) => {
  res.writeHead(200, { Connection: 'close', 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
if (mode === 'audited') require(path.join(__dirname, '..', '..', 'lib', 'index.js')).auditCloses(server);
const request = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
      socket.on('error', resolve).on('close', resolve).resume();
    });
  }
  server.close();
});
