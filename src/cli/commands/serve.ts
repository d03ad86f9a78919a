// sockclose serve: a fault server on the command line.
import { BEHAVIOR_NAMES } from '../../harness/behaviors.js';
import { createFaultServer, type FaultConnectionReport, type FaultServerOptions } from '../../harness/fault-server.js';
import { formatAddress, MAX_BYTES, MAX_MS, MAX_PAYLOAD } from '../../harness/options.js';
import { choiceFlag, integerFlag, parse, UsageError } from '../args.js';
import { addressFlag, COMMON_FLAGS, listenOrExit, progressFlag, runUntilStopped } from '../common.js';
import { ExitCode } from '../exit-codes.js';
import { describeServerReport, serverReportJson } from '../format.js';
import { SERVE_HELP } from '../help.js';
import { Output, type Io } from '../output.js';

/** Runs `sockclose serve`; resolves with the exit code. */
export async function serve(args: string[], io: Io): Promise<number> {
  const { values } = parse(
    args,
    {
      ...COMMON_FLAGS,
      behavior: { type: 'string', short: 'b' },
      listen: { type: 'string', short: 'l' },
      http: { type: 'boolean' },
      'response-bytes': { type: 'string' },
      bytes: { type: 'string' },
      delay: { type: 'string' },
      timeout: { type: 'string' },
      'await-request': { type: 'boolean' },
      'linger-idle': { type: 'string' },
      'linger-max': { type: 'string' },
      count: { type: 'string', short: 'n' },
      quiet: { type: 'boolean', short: 'q' },
    },
    false,
  );
  if (values.help) {
    io.stdout.write(SERVE_HELP);
    return ExitCode.OK;
  }
  if (values.behavior === undefined) throw new UsageError(`--behavior is required: one of ${BEHAVIOR_NAMES.join(', ')}`);
  const options: FaultServerOptions = {
    behavior: choiceFlag(values.behavior, 'behavior', BEHAVIOR_NAMES, 'stall'),
    listen: addressFlag(values.listen ?? '127.0.0.1:0', 'listen', true),
    protocol: values.http ? 'http' : 'raw',
    awaitRequest: values['await-request'] === true,
  };
  // One Buffer, less room for an HTTP head (the harness's own bound): larger failed in the
  // harness, as an unexpected error with its stack (exit 1).
  const responseBytes = integerFlag(values['response-bytes'], 'response-bytes', 0, MAX_PAYLOAD);
  const bytes = integerFlag(values.bytes, 'bytes', 0, MAX_BYTES);
  const delayMs = integerFlag(values.delay, 'delay', 0, MAX_MS);
  const timeoutMs = integerFlag(values.timeout, 'timeout', 0, MAX_MS);
  const lingerIdleMs = integerFlag(values['linger-idle'], 'linger-idle', 1, MAX_MS);
  const lingerMaxMs = integerFlag(values['linger-max'], 'linger-max', 1, MAX_MS);
  if (responseBytes !== undefined) options.responseBytes = responseBytes;
  if (bytes !== undefined) options.bytes = bytes;
  if (delayMs !== undefined) options.delayMs = delayMs;
  if (timeoutMs !== undefined) options.timeoutMs = timeoutMs;
  if (lingerIdleMs !== undefined) options.lingerIdleMs = lingerIdleMs;
  if (lingerMaxMs !== undefined) options.lingerMaxMs = lingerMaxMs;
  const count = integerFlag(values.count, 'count', 1, Number.MAX_SAFE_INTEGER);
  const progress = progressFlag(values);
  const out = new Output(io, values.json === true);
  const quiet = values.quiet === true;

  const server = await listenOrExit(() => createFaultServer(options), String(values.listen ?? '127.0.0.1:0'), io);
  if (typeof server === 'number') return server;
  const { settings } = server;
  return runUntilStopped<FaultConnectionReport>(
    server,
    count,
    out,
    progress,
    (report) => {
      if (!quiet) out.result(serverReportJson(report), () => describeServerReport(report));
    },
    // Always printed, --quiet or not: it is how a script learns the port.
    () =>
      io.stdout.write(
        out.json
          ? `${JSON.stringify({ event: 'listening', host: server.host, port: server.port, ...settings })}\n`
          : `listening on ${formatAddress(server.address)}: ${settings.behavior} (${settings.protocol})\n`,
      ),
  );
}
