// The CLI's --help texts. Behaviour and toxic lists come from the harness itself, so the help can
// never name one that does not exist.
import { FAULT_BEHAVIORS } from '../harness/behaviors.js';
import { TOXIC_TYPES } from '../harness/toxics.js';
import { EXIT_CODE_HELP } from './exit-codes.js';

function list(entries: Record<string, string>): string {
  const width = Math.max(...Object.keys(entries).map((key) => key.length));
  return Object.entries(entries)
    .map(([key, text]) => `  ${key.padEnd(width)}  ${text}`)
    .join('\n');
}

export const MAIN_HELP = `Usage: sockclose <command> [options]

Provoke and observe every way a TCP connection can end.

Commands:
  demo                  the seed 004 server with a plain close, a hard reset and a lingering
                        close, side by side
  serve --behavior B    a TCP server that ends every connection one exact way
  proxy --upstream A    a TCP proxy with Toxiproxy-style toxics (reset_peer, bandwidth, ...)
  probe HOST:PORT       connect, send, read to the end: was it FIN or RST, after how many bytes?
  audit -- COMMAND...   run a command with every Node server in it audited: which connections
                        ended with RST before the client had the whole response

Options:
  -h, --help            help (also: sockclose <command> --help)
  -v, --version         the version

demo, serve, proxy and probe take --json (one JSON object per line on stdout; audit passes the
command's output through untouched, its report goes to stderr or --file). Progress and notes go to
stderr; progress is drawn only on a terminal unless --progress forces it.

${EXIT_CODE_HELP}
`;

export const SERVE_HELP = `Usage: sockclose serve --behavior <name> [options]

A TCP server that ends every connection in one exact way. It prints its address first (with
--json: {"event":"listening","host":...,"port":...}), then one line per closed connection.
Runs until SIGINT/SIGTERM, or until --count connections have closed.

Behaviours:
${list(FAULT_BEHAVIORS)}

Options:
  -b, --behavior <name>       how to end each connection (required)
  -l, --listen <host:port>    where to listen (default 127.0.0.1:0, any free port)
      --http                  read the request head, answer in HTTP/1.1 (for http clients, fetch)
      --response-bytes <n>    response body size (default 600000 for close-with-unread and
                              lingering-close, 1048576 for reset-after-bytes, else 0)
      --bytes <n>             reset-after-bytes: wire bytes before the RST (default 16384)
      --delay <ms>            pause before the last step (slow-close: default 1000)
      --timeout <ms>          bound on each wait for the peer (request, acknowledgement, unread
                              input) and on our writes a peer that does not read holds up (the
                              response, the FIN); then the fault comes (default 5000). The waits
                              for the peer's FIN are not bounded
      --await-request         raw: start once the client has sent a byte (it stays unread)
      --linger-idle <ms>      lingering-close, close: idle timeout, >= 1 (default 2000)
      --linger-max <ms>       lingering-close, close: total cap, >= 1 (default 30000)
  -n, --count <n>             exit 0 after n connections have closed (stall: never on its own, as
                              a stalled connection is reported only when the server closes)
      --json                  machine-readable output
  -q, --quiet                 no per-connection lines (the address is still printed)
      --progress / --no-progress   progress of --count on stderr (default: only on a terminal)
  -h, --help

Example:
  sockclose serve --behavior close-with-unread --listen 127.0.0.1:8125
  sockclose probe 127.0.0.1:8125 --send 4        # exit code 3: reset
`;

export const PROXY_HELP = `Usage: sockclose proxy --upstream <host:port> [--toxic <spec>]... [options]

A TCP proxy whose connections suffer toxics, modelled on Toxiproxy's. FINs and resets are passed
on faithfully (a reset that Node reads as a clean EOF included). It prints its address first,
then one line per closed connection.

Toxics (stream 'upstream' is client -> server, 'downstream' server -> client, the default):
${list(TOXIC_TYPES)}

A toxic is written type[/stream][:key=value,...], for instance:
  latency:latency=100,jitter=10
  reset_peer/upstream:timeout=500
  reset_peer:timeout=200,from=connect
  limit_data:bytes=1000,mode=reset
  timeout:timeout=0                      (a half-open connection: nothing passes, ever)
  bandwidth:rate=100                     (100 KB/s)
  slicer:average_size=10,size_variation=5,delay=2000   (partial reads: ~10-byte writes, 2 ms apart)
The keys name and toxicity set the toxic's name (default type_stream; each toxic needs its own)
and probability.

Options:
  -u, --upstream <host:port>  where to connect each client (required)
  -l, --listen <host:port>    where to listen (default 127.0.0.1:0)
  -t, --toxic <spec>          a toxic in force from the start (repeat for more)
      --control               read commands from stdin while running:
                                add <spec> | update <name> key=value,... | remove <name>
                                | clear | list | reset (RST to every open connection, now)
                                | down (stop listening: new clients are refused; every open
                                  connection closed) | up (listen again, same address)
  -n, --count <n>             exit 0 after n connections have closed
      --json                  machine-readable output
  -q, --quiet                 no per-connection lines
      --progress / --no-progress
  -h, --help

Example:
  sockclose proxy --upstream 127.0.0.1:5432 --toxic limit_data:bytes=1000,mode=reset
`;

export const PROBE_HELP = `Usage: sockclose probe <host:port> [options]

Connects, sends what you ask, reads everything, and tells how the peer ended the connection:
FIN or RST (even when Node would report a reset as a clean end), after how many bytes each way,
in which TCP state, with timings.

Options:
  -s, --send <n>         send n bytes ('x') once connected
      --send-text <text> send this text instead
      --shutdown         send FIN after sending (the reply is still read)
      --timeout <ms>     give up this long after connecting (default 10000); exit code 4. Also
                         the bound on connecting: then exit code 5 (ETIMEDOUT)
  -n, --count <n>        probe n times in a row and summarise (n = 1 too; without it: one probe,
                         its result)
      --expect <end>     exit 0 if every run ended so, else 6: fin, rst, fin-rst, timeout,
                         connect-error
      --json             machine-readable output (with --count: a summary object, whatever n)
      --progress / --no-progress   progress of --count on stderr (default: only on a terminal)
  -h, --help

Exit codes: 0 FIN, 3 reset, 4 timeout, 5 could not connect, 6 --expect not met. With --count the
worst run decides: 5, then 3, then 4.

Example:
  sockclose probe 127.0.0.1:8125 --send 4 --count 200 --json
`;

export const DEMO_HELP = `Usage: sockclose demo [options]

Runs the seed 004 scenario (a server writes 600,000 bytes and closes while the client's 4 request
bytes are unread) with a plain close, a hard reset and a lingering close, side by side, and prints
what the client received, how each connection ended, and the TIME_WAIT left.

Options:
  -r, --runs <n>     runs per mode (default: the demo's own)
      --json         the report as JSON
      --progress / --no-progress   progress on stderr (default: only on a terminal)
  -h, --help
`;
