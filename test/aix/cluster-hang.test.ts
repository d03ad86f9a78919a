// nodejs/node 40724 on Linux: a real cluster HTTP server (primary + 2 workers, round-robin) with the
// AIX error-state emulation preloaded into all three processes, fed with clients that connect and
// reset at once mixed with normal clients.
//
// 1. Unprotected, it hangs the way AIX / IBM i did: each worker that receives a reset connection
//    cannot type it, never acks, and is never handed another connection; one reset per worker and
//    normal requests go unanswered while every process is still alive. (The primary is paused while
//    each reset is sent, so the reset always beats the handoff: on AIX that race is won by chance.)
// 2. The same traffic on plain Linux (no emulation) does not hang: the emulation is the cause.
// 3. With protectCluster({ force: true }) in the primary, >= 99% of normal requests are served,
//    no connection handle ever crosses IPC, and no worker is lost.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ClusterUnderTest, normalRequest, Resetter, type RequestOutcome } from './cluster-harness.js';
import { emulationLibrary, removeEmulationLibrary } from './emulation.js';

/** Far more resets than the 2 that stop an unprotected cluster; the protected one survives them all. */
const MAX_RESETS = 40;
/** Normal requests after the hang; each gets REQUEST_MS to be answered. */
const PROBES = 20;
const REQUEST_MS = 2000;

const running = new Set<ClusterUnderTest>();
let resetter: Resetter;

beforeAll(() => {
  resetter = Resetter.start();
});

afterAll(() => resetter.close());
afterAll(removeEmulationLibrary);

async function start(options: { emulation: boolean; protect: boolean }): Promise<ClusterUnderTest> {
  const cluster = await ClusterUnderTest.start({
    emulation: options.emulation ? await emulationLibrary() : null,
    protect: options.protect,
  });
  running.add(cluster);
  return cluster;
}

afterEach(async () => {
  await Promise.all([...running].map((cluster) => cluster.close()));
  running.clear();
});

function served(outcomes: RequestOutcome[]): number {
  return outcomes.filter((outcome) => outcome.served).length;
}

/**
 * One client that connects and resets before the primary accepts (the primary is paused meanwhile),
 * then the round-robin handoff it causes: resolves with whether the handle reached its worker.
 */
async function resetBeforeAccept(cluster: ClusterUnderTest): Promise<boolean> {
  const before = cluster.handoffs.length;
  await cluster.whilePrimaryPaused(() => resetter.reset(cluster.port));
  await cluster.until(() => cluster.handoffs.length > before, 5000, 'the primary to hand the reset connection to a worker');
  return cluster.handoffs[before]!.withHandle;
}

describe('the AIX cluster hang, emulated on Linux (nodejs/node 40724)', () => {
  it('unprotected: reset connections take both workers out of rotation and the server stops serving', async ({ annotate }) => {
    const cluster = await start({ emulation: true, protect: false });
    expect(cluster.policy).toBe('rr');
    expect(cluster.processes.map((p) => p.emulation)).toEqual([true, true, true]);

    // Before any reset, round-robin serves and alternates between the workers.
    const warmUp: RequestOutcome[] = [];
    for (let i = 0; i < 4; i++) warmUp.push(await normalRequest(cluster.port, REQUEST_MS));
    expect(served(warmUp)).toBe(4);
    expect(new Set(warmUp.map((outcome) => (outcome.served ? outcome.worker : 0)))).toEqual(new Set([1, 2]));
    await cluster.until(() => cluster.handoffs.length === 4, 5000, 'the warm-up handoffs to be reported');
    expect(cluster.handoffs.every((handoff) => handoff.withHandle)).toBe(true);

    // One reset connection per worker: each reaches its worker already in the error state, the
    // worker cannot type it, and never acks. (Bounded, in case it took more.)
    let resets = 0;
    while (cluster.stuckWorkers().size < 2 && resets < MAX_RESETS) {
      expect(await resetBeforeAccept(cluster)).toBe(false);
      resets++;
    }
    expect(cluster.stuckWorkers()).toEqual(new Set([1, 2]));
    expect(resets, 'one reset per worker stops the server').toBe(2);
    await annotate(`both workers out of rotation after ${resets} reset connections`);
    const handoffsAtHang = cluster.handoffs.length;

    // Now normal clients go unanswered: the primary accepts them but has no worker left to hand
    // them to.
    const probes = await Promise.all(Array.from({ length: PROBES }, () => normalRequest(cluster.port, REQUEST_MS)));
    expect(served(probes), `${PROBES} normal requests after ${resets} resets`).toBe(0);
    expect(cluster.handoffs.length).toBe(handoffsAtHang);
    // A hang, not a crash: every process is alive and answers on IPC.
    expect(cluster.exits).toEqual([]);
    expect(await cluster.ping()).toEqual([1, 2]);
  });

  it('control: the same traffic without the emulation (plain Linux) keeps round-robin serving', async () => {
    const cluster = await start({ emulation: false, protect: false });
    expect(cluster.policy).toBe('rr');
    expect(cluster.processes.map((p) => p.emulation)).toEqual([false, false, false]);

    for (let i = 0; i < MAX_RESETS; i++) expect(await resetBeforeAccept(cluster)).toBe(true);
    const probes = await Promise.all(Array.from({ length: PROBES }, () => normalRequest(cluster.port, REQUEST_MS)));
    expect(served(probes)).toBe(PROBES);
    expect(cluster.stuckWorkers().size).toBe(0);
    expect(cluster.exits).toEqual([]);
  });

  it('protected: protectCluster({ force: true }) serves >= 99% of normal requests and loses no worker', async ({ annotate }) => {
    const cluster = await start({ emulation: true, protect: true });
    expect(cluster.report).toMatchObject({ forced: true, applied: true });
    expect(cluster.report!.settings).toContainEqual(
      expect.objectContaining({ setting: 'cluster.schedulingPolicy', before: 'rr', after: 'none', changed: true }),
    );
    expect(cluster.policy).toBe('none');
    expect(cluster.processes.map((p) => p.emulation)).toEqual([true, true, true]);

    // 20 rounds of 10 normal clients and 2 reset clients at once: 200 requests, MAX_RESETS resets.
    const rounds = MAX_RESETS / 2;
    const outcomes: RequestOutcome[] = [];
    for (let round = 0; round < rounds; round++) {
      const [normal] = await Promise.all([
        Promise.all(Array.from({ length: 10 }, () => normalRequest(cluster.port, 10_000))),
        resetter.reset(cluster.port),
        resetter.reset(cluster.port),
      ]);
      outcomes.push(...normal);
    }
    expect(outcomes).toHaveLength(200);
    expect(served(outcomes), JSON.stringify(outcomes.filter((o) => !o.served).slice(0, 5))).toBeGreaterThanOrEqual(198);
    await annotate(`${served(outcomes)} of 200 normal requests served amid ${MAX_RESETS} resets`);
    // SCHED_NONE: no connection handle ever crossed IPC, so none could be lost.
    expect(cluster.handoffs).toEqual([]);
    expect(cluster.exits).toEqual([]);
    expect(await cluster.ping()).toEqual([1, 2]);
  });
});
