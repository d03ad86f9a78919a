// Child processes for the distribution checks: every command has a time limit, and a failure
// throws with the command line, the exit status and the tail of what it printed.
'use strict';
const { spawnSync } = require('node:child_process');

/** An Error saying which command failed and how. */
class CommandError extends Error {
  constructor(command, result, timeoutMs) {
    const how = result.error?.code === 'ETIMEDOUT'
      ? `timed out after ${timeoutMs} ms`
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
 * (unless `allowFailure`) or outlives `timeoutMs`. `inherit: true` streams its output instead.
 */
function run(file, args, { cwd, env, timeoutMs = 120_000, allowFailure = false, inherit = false, input } = {}) {
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
    throw new CommandError([file, ...args].join(' '), result, timeoutMs);
  }
  return { stdout: result.stdout ?? '', stderr: result.stderr ?? '', status: result.status };
}

/** Runs a Node script with the given Node binary (default: this one). */
function runNode(script, args = [], { node = process.execPath, ...options } = {}) {
  return run(node, [script, ...args], options);
}

module.exports = { CommandError, run, runNode };
