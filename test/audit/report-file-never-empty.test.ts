// SOCKCLOSE_AUDIT_FILE is "one JSON object (`ProcessAuditReport`)", "rewritten at each report"
// (docs/observability.md). Written in place (truncate, then write), the file was empty to anyone
// reading it while a report was written (a script that sends SIGUSR2 and reads it), and two
// processes writing the same name (a cluster's primary and workers, a file name without `%p`) left
// a small report written over the tail of a larger one: not JSON at all. Replaced whole, a reader
// sees the previous report or the new one, and concurrent writers leave one of theirs, complete.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { tempDir } from '../helpers/net.js';
import { root } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';

const app = path.join(root, 'test', 'audit', 'fixtures', 'seed-app.cjs');
const ROUNDS = 40;
const READS_PER_ROUND = 300;

/** A child with the preload and an application SIGUSR2 listener after it (it runs once the report is written). */
function child(args: string[], env: NodeJS.ProcessEnv, ack: string) {
  const proc = spawn(process.execPath, ['--require', 'sockclose/audit', '--require', ack, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const seen = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => stdout.includes(text) && (proc.stdout.off('data', check), resolve());
      proc.stdout.on('data', check);
      check();
    });
  return { proc, seen, stderr: () => stderr };
}

describe('review: SOCKCLOSE_AUDIT_FILE is always one complete report', () => {
  it('never empty nor torn while rewritten, with two processes writing the same file at once', async () => {
    const dir = tempDir('sockclose-review-vis-');
    const file = path.join(dir, 'audit.json');
    const ack = path.join(dir, 'ack.cjs');
    fs.writeFileSync(ack, "let n = 0; process.on('SIGUSR2', () => process.stdout.write(`usr2 ${++n}\\n`));\n");
    const env = { ...process.env, SOCKCLOSE_AUDIT_FILE: file };
    // A report with 10 recent closes, and a much smaller one (a server that had no connection).
    const big = child([app], { ...env, SEED_RUNS: '10', SEED_WAIT: '1' }, ack);
    const small = child(['-e', "require('net').createServer().listen(0, '127.0.0.1', () => console.log('ready'))"], env, ack);
    try {
      await within(Promise.all([big.seen('ready'), small.seen('ready')]), 20_000, 'both servers ready');
      let empty = 0;
      let partial = 0;
      let tornAfter = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        big.proc.kill('SIGUSR2');
        small.proc.kill('SIGUSR2');
        // What a reader sees while both write.
        for (let read = 0; read < READS_PER_ROUND; read++) {
          let text: string;
          try {
            text = fs.readFileSync(file, 'utf8');
          } catch {
            continue; // not written yet (first round)
          }
          if (text === '') empty++;
          else if (!isJson(text)) partial++;
        }
        await within(Promise.all([big.seen(`usr2 ${round}`), small.seen(`usr2 ${round}`)]), 10_000, `both reports of round ${round}`);
        if (!isJson(fs.readFileSync(file, 'utf8'))) tornAfter++;
      }
      expect({ empty, partial, tornAfter, stderr: big.stderr() + small.stderr() }).toEqual({ empty: 0, partial: 0, tornAfter: 0, stderr: '' });
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ reason: 'SIGUSR2', servers: 1 });
      // Nothing left beside it.
      expect(fs.readdirSync(dir).sort()).toEqual(['ack.cjs', 'audit.json']);
    } finally {
      big.proc.kill('SIGKILL');
      small.proc.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
