// The peer for bench/core/closes.mjs, in its own process so its work does not count against the
// server's. On {port, count} it opens `count` connections to 127.0.0.1:port (at most `concurrency`
// connecting at once), answers {connected} when all are up, and closes each one as soon as the
// server ends it (FIN: 'end', then destroy(); RST: 'error', then it is gone). On {collect} it
// reports how the previous batch ended once every connection has closed, and the CPU time that
// took on this side.
import net from 'node:net';

let endings = { fin: 0, reset: 0, other: 0 };
// CPU this process spends on the batch's closes: from "all connected" to "all closed" it does
// nothing else.
let cpuAtConnected = null;
let open = 0;
let onAllClosed = null;

function closed(how) {
  endings[how]++;
  open--;
  if (open === 0 && onAllClosed) {
    const done = onAllClosed;
    onAllClosed = null;
    done();
  }
}

function connectOne(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let how = 'other';
    socket.once('connect', () => resolve());
    socket.once('error', (error) => {
      if (socket.connecting) reject(error);
      how = error.code === 'ECONNRESET' ? 'reset' : 'other';
    });
    // allowHalfOpen is false: Node answers the server's FIN with its own and closes.
    socket.once('end', () => (how = 'fin'));
    socket.once('close', () => closed(how));
    socket.resume();
    open++;
  });
}

async function connectMany(port, count, concurrency) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await connectOne(port);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

process.on('message', async (message) => {
  if (message.port) {
    await connectMany(message.port, message.count, message.concurrency ?? 128);
    cpuAtConnected = process.cpuUsage();
    process.send({ connected: message.count });
  } else if (message.collect) {
    const report = () => {
      const cpu = process.cpuUsage(cpuAtConnected);
      process.send({ endings: { ...endings, cpuMicros: cpu.user + cpu.system } });
      endings = { fin: 0, reset: 0, other: 0 };
    };
    if (open === 0) report();
    else onAllClosed = report;
  } else if (message.exit) {
    process.disconnect();
  }
});
