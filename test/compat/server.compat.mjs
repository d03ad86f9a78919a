// closeWouldReset() of a net.Server on every Node line: the server's listening handle, how Node
// drops it when the server closes, and how a cluster worker's listen() shapes it (Node's
// lib/internal/cluster/child.js gives the worker's handle its own close(): a fake handle with no
// descriptor under round-robin, a copy of the primary's listener under SCHED_NONE). The vitest
// suite (test/core/server-close-would-reset.test.ts) checks the queue itself, on Node 20 and later.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

import { libIndex, listen, nextEvent, sockclose, tempDir } from './helpers.mjs';

const { closeWouldReset, ErrorCodes } = sockclose;
const fixture = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'server-close-would-reset-cluster.cjs');

/** The error closeWouldReset(target) throws (fails if it answers). */
function thrown(target) {
  try {
    return { verdict: closeWouldReset(target) };
  } catch (error) {
    return { code: error.code, message: error.message };
  }
}

test('closeWouldReset(server): false while listening with nothing queued, ERR_SOCKCLOSE_NO_FD never listened and once closed', async () => {
  const idle = net.createServer();
  assert.equal(thrown(idle).code, ErrorCodes.NO_FD);
  await listen(idle);
  assert.equal(closeWouldReset(idle), false);
  idle.close();
  await nextEvent(idle, 'close');
  const after = thrown(idle);
  assert.equal(after.code, ErrorCodes.NO_FD);
  assert.match(after.message, /the server holds no listening socket \(not listening/);
});

test('closeWouldReset(server) in a cluster worker: ERR_SOCKCLOSE_NO_FD under SCHED_RR and SCHED_NONE (TCP and AF_UNIX); a verdict for an exclusive server', () => {
  const dir = tempDir();
  try {
    for (const policy of ['rr', 'none']) {
      const socketPath = path.join(dir, `${policy}.sock`);
      const run = spawnSync(process.execPath, [fixture, policy, socketPath, libIndex], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
      const { schedulingPolicy, report } = JSON.parse(run.stdout.trim());
      assert.equal(report.failed, undefined, report.failed);
      assert.equal(schedulingPolicy, policy);
      for (const answer of [report.tcp, report.unix]) {
        assert.equal(answer.listening, true);
        // The premise: round-robin leaves the worker without a descriptor; SCHED_NONE gives it a copy.
        if (policy === 'rr') assert.equal(answer.handleFd, null);
        else assert.ok(answer.handleFd >= 0, `handle.fd ${answer.handleFd}`);
        assert.equal(answer.code, ErrorCodes.NO_FD, JSON.stringify(answer));
        assert.match(answer.message, policy === 'rr' ? /round-robin mode \(SCHED_RR\)/ : /sharing the primary's listener \(SCHED_NONE\)/);
      }
      assert.deepEqual({ listening: report.exclusive.listening, verdict: report.exclusive.verdict }, { listening: true, verdict: false });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
