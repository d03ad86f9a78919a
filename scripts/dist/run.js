// Child processes for the distribution checks: every command has a time limit, and a failure
// throws with the command line, the exit status and the tail of what it printed.
//
// The limits are there to stop hangs, not to time work: a busy machine must not fail a check that
// would pass on an idle one (Node 18 under qemu starts in 12.5 s idle, 21 s beside two busy loops,
// and took over 60 s on a loaded 2-core machine). So every limit stretches with the load, and
// SOCKCLOSE_TIMEOUT_SCALE multiplies them all for a machine known to be slow.
'use strict';
const { spawnSync } = require('node:child_process');
const os = require('node:os');

/**
 * The factor a nominal limit is multiplied by now: SOCKCLOSE_TIMEOUT_SCALE (default 1) times the
 * 1-minute load per core when above 1 (load 6 on 2 cores: 3). Never below 1.
 */
function timeoutScale() {
  const asked = Number(process.env.SOCKCLOSE_TIMEOUT_SCALE);
  const factor = Number.isFinite(asked) && asked >= 1 ? asked : 1;
  const load = os.loadavg()[0] / Math.max(1, os.cpus().length);
  return factor * Math.max(1, load);
}

/** An Error saying which command failed and how. */
class CommandError extends Error {
  constructor(command, result, timeoutMs, nominalMs = timeoutMs) {
    const how = result.error?.code === 'ETIMEDOUT'
      ? `timed out after ${timeoutMs} ms (limit ${nominalMs} ms × ${(timeoutMs / nominalMs).toFixed(1)} for the load; ` +
        'SOCKCLOSE_TIMEOUT_SCALE=N allows N times more)'
      : result.error
        ? result.error.message
        : result.signal
          ? `killed by ${result.signal}`
          : `exited with ${result.status}`;
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    super(`${command} ${how}${output ? `\n${output}` : ''}`);
    this.status = result.status;
    this.stdout = result.stdout ?? '';
    this.stderr = result.stderr ?? '';
  }
}

/**
 * Runs `file args` and returns { stdout, stderr, status }. Throws a CommandError when it fails
 * (unless `allowFailure`) or outlives `timeoutMs` (× {@link timeoutScale}). `inherit: true`
 * streams its output instead.
 */
function run(file, args, { cwd, env, timeoutMs: nominalMs = 120_000, allowFailure = false, inherit = false, input } = {}) {
  const timeoutMs = Math.round(nominalMs * timeoutScale());
  const result = spawnSync(file, args, {
    cwd,
    env: env ?? process.env,
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
    stdio: inherit ? ['ignore', 'inherit', 'inherit'] : ['pipe', 'pipe', 'pipe'],
    input,
  });
  const failed = result.error !== undefined || result.status !== 0;
  if (failed && !(allowFailure && result.error === undefined)) {
    throw new CommandError([file, ...args].join(' '), result, timeoutMs, nominalMs);
  }
  return { stdout: result.stdout ?? '', stderr: result.stderr ?? '', status: result.status };
}

/** Runs a Node script with the given Node binary (default: this one). */
function runNode(script, args = [], { node = process.execPath, ...options } = {}) {
  return run(node, [script, ...args], options);
}

module.exports = { CommandError, run, runNode, timeoutScale };
