import { EVENTS_QUEUE } from '@vod-callbacks/shared';
import { startRedisServer, uniquePrefix } from '@vod-callbacks/test-support';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { duplicateCount, requestIds, sendStream, startIngress, startWorker } from './fault-harness.js';
import { report, verifyExactlyOnce } from './verdict.js';

// Fault 2: a worker SIGKILLed while it holds slowed-down jobs; the other worker must recover them.
// `before`: killed before its jobs did anything. `after`: killed after its jobs recorded their
// outcome but before BullMQ marked them completed — the window in which a retry could double an outcome.
describe.each(['before', 'after'] as const)(
  'fault: a worker SIGKILLed mid-job (delay %s the outcome)',
  (at) => {
    it('its stalled jobs are picked up by the other worker and each yields exactly one outcome', async () => {
      const redis = await startRedisServer({ appendOnly: true });
      const prefix = uniquePrefix('f-worker');
      const env = {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: prefix,
        // Keep completed jobs so the test can see which ones were recovered from a stall.
        EVENT_JOB_KEEP_COMPLETED: '100000',
      };
      const workerEnv = {
        ...env,
        PROCESSING_DELAY_MS: '300',
        PROCESSING_DELAY_AT: at,
        WORKER_CONCURRENCY: '30',
        WORKER_LOCK_MS: '2000',
      };
      const victim = await startWorker(workerEnv);
      const survivor = await startWorker(workerEnv);
      const ingress = await startIngress(env);
      const queue = new Queue(EVENTS_QUEUE, { connection: { url: redis.url }, prefix });
      let activeAtKill = 0;
      let killedAtMs = 0;
      let victimExit: unknown;
      const killVictim = async () => {
        activeAtKill = await queue.getActiveCount();
        killedAtMs = Date.now();
        victimExit = await victim.kill('SIGKILL');
      };
      try {
        const stats = await sendStream({
          url: ingress.url,
          ids: requestIds('wk', 2000),
          ratePerSecond: 150,
          maxDurationMs: 30_000,
          fault: { atMs: 5000, run: killVictim },
        });
        expect(victimExit).toMatchObject({ signal: 'SIGKILL' });
        const verdict = await verifyExactlyOnce(redis.url, prefix, stats.acked);
        const completed = await queue.getJobs(['completed'], 0, -1);
        const recovered = completed.filter((j) => j.stalledCounter > 0);
        const recoveredAfterMs = recovered.length
          ? Math.min(...recovered.map((j) => (j.processedOn ?? 0) - killedAtMs))
          : undefined;
        const duplicatesDropped = await duplicateCount(survivor.output());
        report(`worker-sigkill-mid-job-${at}-outcome`, stats, verdict, {
          activeAtKill,
          recoveredStalledJobs: recovered.length,
          firstRecoveryAfterKillMs: recoveredAfterMs,
          duplicatesDroppedBySurvivor: duplicatesDropped,
        });
        // A recovered job whose outcome was already recorded is dropped as a duplicate, never recorded again.
        // Killed after recording, (nearly) all of them are; killed before, at most the odd job that was
        // just past its record when the kill came.
        expect(duplicatesDropped).toBeLessThanOrEqual(recovered.length);
        if (at === 'after') expect(duplicatesDropped).toBeGreaterThan(0);

        expect(activeAtKill).toBeGreaterThan(0);
        // The victim's in-flight jobs (up to its concurrency) were recovered from the stalled state.
        expect(recovered.length).toBeGreaterThan(0);
        expect(recovered.length).toBeLessThanOrEqual(30);
        expect(verdict.lost).toEqual([]);
        expect(verdict.duplicated).toEqual([]);
        expect(stats.acked.size).toBe(stats.sent);
        expect(survivor.child.exitCode).toBeNull();
      } finally {
        await queue.close();
        await Promise.all([ingress.proc.kill('SIGTERM'), survivor.kill('SIGTERM'), victim.kill('SIGKILL')]);
        await redis.stop();
      }
    }, 180_000);
  },
);
