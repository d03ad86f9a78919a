// Counts TIME_WAIT sockets on a local port from the kernel's own table (Linux /proc/net/tcp*):
// no `ss` needed. Null where there is no such table (macOS, Windows, ...).
import fs from 'node:fs';

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
const TIME_WAIT = '06';

const hexPort = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * TIME_WAIT sockets whose local port is `port` and whose peer's port is one of `peerPorts` (the
 * connections the caller made: on a shared machine other programs' sockets may have used the same
 * port number), or null if the kernel's table is not readable.
 */
export function timeWaitOnLocalPort(port: number, peerPorts: ReadonlySet<number>): number | null {
  let count = 0;
  let readable = false;
  const suffix = hexPort(port);
  const peers = new Set([...peerPorts].map(hexPort));
  for (const table of TABLES) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st ...
      const [, local = '', remote = '', state = ''] = line.trim().split(/\s+/);
      if (state === TIME_WAIT && local.endsWith(suffix) && peers.has(remote.slice(remote.lastIndexOf(':')))) count += 1;
    }
  }
  return readable ? count : null;
}
