// The audit in worker threads (each thread its own audit and channels), and subscribers that throw.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';
import { nextEvent } from '../helpers/wait.js';

const lib = path.join(root, 'lib', 'index.js');
const RUNS = 5;

interface WorkerResult {
  received: number[];
  counts: { closed: number; resetsWithData: number; lingered: number; ends: Record<string, number> };
  summary: string;
}

function runWorker(lingering: boolean): Promise<WorkerResult> {
  const worker = new Worker(path.join(root, 'test', 'audit', 'fixtures', 'worker-audit.cjs'), { workerData: { lib, runs: RUNS, lingering } });
  return nextEvent<[WorkerResult]>(worker, 'message', 20_000).then(async ([result]) => {
    await worker.terminate();
    return result;
  });
}

describe('audit isolation', () => {
  it('worker threads: two audits at once, each sees its own server; the seed 004 losses and the lingering cure', async () => {
    const [plain, lingering] = await Promise.all([runWorker(false), runWorker(true)]);
    const lost = plain.received.filter((bytes) => bytes < 600_000).length;
    expect(lost).toBeGreaterThan(0);
    expect(plain.counts).toMatchObject({ closed: RUNS, resetsWithData: lost, lingered: 0 });
    expect(plain.summary).toMatch(new RegExp(`^${lost} of ${RUNS} connections ended with RST`));
    expect(lingering.received).toEqual(Array(RUNS).fill(600_000));
    expect(lingering.counts).toMatchObject({ closed: RUNS, resetsWithData: 0, lingered: RUNS, ends: { rst: 0 } });
  });

  it('subscribers that throw on every channel: the server keeps serving, every close is as without them, each throw is an uncaughtException', () => {
    const out = execFileSync(process.execPath, [path.join(root, 'test', 'audit', 'fixtures', 'throwing-subscribers.cjs')], {
      env: { ...process.env, SOCKCLOSE_LIB: lib },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const result = JSON.parse(out) as {
      answers: string[];
      thrown: Record<string, number>;
      uncaught: number;
      counts: { closed: number; lingered: number; abortiveResets: number; ends: Record<string, number> };
    };
    // 10 answered requests and the reset one (the client sees the reset, as it should).
    expect(result.answers.filter((answer) => answer === 'ok')).toHaveLength(10);
    expect(result.answers[5]).toBe('ECONNRESET');
    expect(result.thrown).toEqual({ 'sockclose:linger:end': 10, 'sockclose:hard-reset': 1, 'sockclose:audit:close': 11 });
    expect(result.uncaught).toBe(22);
    expect(result.counts).toMatchObject({ closed: 11, lingered: 10, abortiveResets: 1, ends: { rst: 1, fin: 10 } });
  });
});
