// sockclose proxy: a fault proxy on the command line, its toxics changeable from stdin.
import dns from 'node:dns';
import net from 'node:net';
import os from 'node:os';
import readline from 'node:readline';

import { createFaultProxy, type FaultProxy } from '../../harness/fault-proxy.js';
import { connectAddress, formatAddress, type Endpoint } from '../../harness/options.js';
import type { ProxyLinkReport } from '../../harness/proxy-link.js';
import { formatToxic, parseToxicFor, parseToxicPairs, type Toxic, type ToxicSpec } from '../../harness/toxics.js';
import { integerFlag, parse, UsageError } from '../args.js';
import { addressFlag, COMMON_FLAGS, listenOrExit, progressFlag, runUntilStopped } from '../common.js';
import { ExitCode } from '../exit-codes.js';
import { describeLinkReport, linkReportJson } from '../format.js';
import { PROXY_HELP } from '../help.js';
import { Output, type Io } from '../output.js';

/** Runs `sockclose proxy`; resolves with the exit code. */
export async function proxy(args: string[], io: Io): Promise<number> {
  const { values } = parse(
    args,
    {
      ...COMMON_FLAGS,
      upstream: { type: 'string', short: 'u' },
      listen: { type: 'string', short: 'l' },
      toxic: { type: 'string', short: 't', multiple: true },
      control: { type: 'boolean' },
      count: { type: 'string', short: 'n' },
      quiet: { type: 'boolean', short: 'q' },
    },
    false,
  );
  if (values.help) {
    io.stdout.write(PROXY_HELP);
    return ExitCode.OK;
  }
  if (values.upstream === undefined) throw new UsageError('--upstream is required, like --upstream 127.0.0.1:5432');
  const upstream = addressFlag(values.upstream, 'upstream', false);
  const listen = addressFlag(values.listen ?? '127.0.0.1:0', 'listen', true);
  await refuseLoop(listen, upstream);
  const toxics = toxicFlags((values.toxic as string[] | undefined) ?? []);
  const count = integerFlag(values.count, 'count', 1, Number.MAX_SAFE_INTEGER);
  const progress = progressFlag(values);
  const out = new Output(io, values.json === true);
  // Per-connection lines only: the address, --control's answers and the last line still come.
  const quiet = values.quiet === true;

  const running = await listenOrExit(
    () => createFaultProxy({ listen, upstream, toxics: toxics as ToxicSpec[] }).catch(optionErrorAsUsage),
    formatAddress(listen),
    io,
  );
  if (typeof running === 'number') return running;
  const announce = () =>
    io.stdout.write(
      out.json
        ? `${JSON.stringify({ event: 'listening', host: running.host, port: running.port, upstream, toxics: running.toxics })}\n`
        : `listening on ${formatAddress(running.address)} -> ${formatAddress(upstream)}` +
            `${running.toxics.length ? `; toxics: ${running.toxics.map(formatToxic).join('; ')}` : ''}\n`,
    );
  const control = values.control ? controlFromStdin(running, out) : null;
  try {
    return await runUntilStopped<ProxyLinkReport>(
      running,
      count,
      out,
      progress,
      (report) => {
        if (!quiet) out.result(linkReportJson(report), () => describeLinkReport(report));
      },
      announce,
    );
  } finally {
    control?.close();
  }
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** The addresses a host name stands for, as far as can be told without asking a resolver. */
function addressesOf(host: string): string[] {
  const lower = host.toLowerCase();
  if (lower === 'localhost') return ['127.0.0.1', '::1'];
  return [canonical(lower)];
}

/** An address as a connect to it arrives: lower case, IPv4-mapped IPv6 as IPv4 (connectAddress()). */
function canonical(address: string): string {
  return connectAddress(address.toLowerCase().replace(/^::ffff:(?=\d+\.)/, ''));
}

/** Where a connect to `host` goes: resolved as the connect resolves it (`127.1`, `2130706433`, names). */
async function connectAddresses(host: string): Promise<string[]> {
  if (net.isIP(host) !== 0 || host.toLowerCase() === 'localhost') return addressesOf(host);
  try {
    return (await dns.promises.lookup(host, { all: true })).map(({ address }) => canonical(address));
  } catch {
    return addressesOf(host); // unresolvable: the connects will fail, not loop
  }
}

/** Whether this machine answers on `address` (every loopback address, and each interface's). */
function isLocal(address: string): boolean {
  if (address === '::1' || (net.isIPv4(address) && address.startsWith('127.'))) return true;
  return Object.values(os.networkInterfaces()).some((entries) => (entries ?? []).some((entry) => canonical(entry.address) === address));
}

/**
 * A proxy whose upstream is its own listening address connects to itself for every connection,
 * and each of those connections again: thousands of descriptors a second until the process runs
 * out (measured: 13,985 open after 3 s). Refused as a bad command line, however the address is
 * spelled (`127.1`, `0.0.0.0`, a name; any loopback address where it listens on a wildcard).
 */
async function refuseLoop(listen: Endpoint, upstream: Endpoint): Promise<void> {
  if (listen.port !== upstream.port) return;
  const reached = await connectAddresses(upstream.host);
  // '0.0.0.0' is every IPv4 address of this machine; '::' every address of both families.
  const listening = WILDCARDS.has(listen.host) ? null : addressesOf(listen.host);
  const loops = reached.some((address) =>
    listening === null ? isLocal(address) && (listen.host === '::' || net.isIPv4(address)) : listening.includes(address),
  );
  if (loops) {
    throw new UsageError(`--upstream ${formatAddress(upstream)} is the proxy's own --listen address: every connection would connect to the proxy again`);
  }
}

/** The --toxic flags, each checked, and no two with the same name (the proxy would refuse them). */
function toxicFlags(texts: string[]): Toxic[] {
  const byName = new Map<string, string>();
  return texts.map((text) => {
    const toxic = toxicFlag(text);
    const first = byName.get(toxic.name);
    if (first !== undefined) {
      throw new UsageError(
        `--toxic '${text}': the name '${toxic.name}' is already used by --toxic '${first}' (every toxic needs its own name: add name=... to one of them)`,
      );
    }
    byName.set(toxic.name, text);
    return toxic;
  });
}

function toxicFlag(text: string): Toxic {
  try {
    return parseToxicFor(text, toxicFlag);
  } catch (error) {
    throw new UsageError(`--toxic '${text}': ${(error as Error).message}`);
  }
}

// The codes with which createFaultProxy() refuses its options. Every option given here comes from
// the command line and was checked above; should one still be refused, that is a bad command line
// (exit 2, its message), not a failure inside sockclose.
const OPTION_ERRORS = new Set(['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE']);

function optionErrorAsUsage(error: unknown): never {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && OPTION_ERRORS.has(code)) throw new UsageError((error as Error).message);
  throw error;
}

/**
 * Commands on stdin, one per line: `add <spec>`, `update <name> key=value,...`, `remove <name>`,
 * `clear`, `list`, `reset` (RST to every open connection), `down` (stop listening, close every
 * connection), `up` (listen again). Each is answered on stdout ({"event":"toxics",...} with
 * --json, `enabled` saying whether the proxy is up).
 */
function controlFromStdin(running: FaultProxy, out: Output): readline.Interface {
  const lines = readline.createInterface({ input: out.io.stdin, terminal: false });
  const answer = (ok: boolean, message: string) =>
    out.result({ event: 'toxics', ok, message, enabled: running.enabled, toxics: running.toxics }, () => `${ok ? '' : 'error: '}${message}`);
  const toggle = (change: Promise<void>, done: string) =>
    change.then(
      () => answer(true, done),
      (error: Error) => answer(false, error.message),
    );
  // One command at a time, in the order given: `down` and `up` take a moment, and the commands
  // after them (piped in together, `printf 'down\nlist\n'`) wait, so the answers come in order
  // and each sees the state the commands before it left.
  let queue: Promise<void> = Promise.resolve();
  lines.on('line', (line) => {
    queue = queue.then(() => perform(line));
  });
  const perform = (line: string): Promise<void> | void => {
    const [command = ''] = line.trim().split(/\s+/);
    // The rest of the line as given: a name may hold runs of spaces (the API allows any string).
    const argument = line.trim().slice(command.length).trim();
    try {
      switch (command) {
        case '':
          return;
        case 'add':
          answer(true, `added ${formatToxic(running.addToxic(parseToxicFor(argument, controlFromStdin) as ToxicSpec))}`);
          return;
        case 'update': {
          // Only the keys given change; updateToxic() checks the result. The name is what comes
          // before the first word with an '=' (it may hold spaces), the key=value list the rest.
          const firstPair = /(?:^|\s)\S*=/.exec(argument);
          const cut = firstPair === null ? argument.length : firstPair.index;
          const name = argument.slice(0, cut).trim();
          const list = argument.slice(cut).replace(/\s+/g, '');
          const pairs = parseToxicPairs(list, line.trim(), controlFromStdin);
          // A name among the pairs would rename: refused by updateToxic(), as it cannot.
          const changes: Record<string, unknown> = { attributes: pairs.attributes, name: pairs.name };
          if (pairs.toxicity !== undefined) changes.toxicity = pairs.toxicity;
          answer(true, `updated ${formatToxic(running.updateToxic(name, changes as Partial<ToxicSpec>))}`);
          return;
        }
        case 'remove': {
          const removed = running.removeToxic(argument);
          answer(removed, removed ? `removed ${argument}` : `no toxic named '${argument}'`);
          return;
        }
        case 'clear':
          running.removeAllToxics();
          answer(true, 'removed every toxic');
          return;
        case 'reset':
          answer(true, `reset ${running.resetConnections()} open connection(s)`);
          return;
        case 'list':
          answer(true, running.toxics.map(formatToxic).join('; ') || 'no toxics');
          return;
        case 'down':
          return toggle(running.disable(), 'down: not listening, every connection closed');
        case 'up':
          return toggle(running.enable(), `up: listening on ${formatAddress(running.address)}`);
        default:
          answer(false, `unknown command '${command}' (add, update, remove, clear, list, reset, down, up)`);
      }
    } catch (error) {
      answer(false, (error as Error).message);
    }
  };
  return lines;
}
