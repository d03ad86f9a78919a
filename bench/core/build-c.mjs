// Compiles the benchmark's C programs into a temporary directory (never into the checkout).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = import.meta.dirname;

/** A scratch directory removed when the process exits. */
export function scratchDir(prefix = 'sockclose-bench-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * `gcc -O2` of <from>/<name>.c (bench/core by default) into `dir`; returns the executable's path.
 * @param {string} name
 * @param {string} dir
 * @param {string} [from]
 */
export function compileC(name, dir, from = here) {
  const source = path.join(from, `${name}.c`);
  const output = path.join(dir, name);
  execFileSync('gcc', ['-O2', '-g', '-Wall', '-Wextra', '-Werror', '-o', output, source], { stdio: 'inherit' });
  return output;
}

/** The compiler's version line, for the report. */
export function gccVersion() {
  return execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0];
}
