import { startRedisServer, uniquePrefix } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { requestIds, sendStream, startIngress, startWorker } from './fault-harness.js';
import { outcomeCounts, report, verifyExactlyOnce } from './verdict.js';

// Fault 1b: Redis frozen (SIGSTOP) for 5 s and then resumed, as a long fork or a stalled disk would.
// Writes that timed out into 503 may still land when Redis resumes: such an event is processed once
// like any other (VOD's redelivery collapses onto it), and every acknowledged one exactly once.
describe('fault: Redis frozen for 5 s, then resumed', () => {
  it('503 while frozen; acknowledged callbacks exactly once; late-landing 503ed writes at most once', async () => {
    const redis = await startRedisServer({ appendOnly: true });
    const prefix = uniquePrefix('f-freeze');
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, ENQUEUE_TIMEOUT_MS: '500' };
    const worker = await startWorker(env);
    const ingress = await startIngress(env);
    const phase = { current: 'up' };
    const freezeFor5s = async () => {
      redis.process.kill('SIGSTOP');
      phase.current = 'frozen-settling';
      await new Promise((r) => setTimeout(r, 700));
      phase.current = 'frozen';
      await new Promise((r) => setTimeout(r, 4300));
      phase.current = 'resuming';
      redis.process.kill('SIGCONT');
      await new Promise((r) => setTimeout(r, 1000));
      phase.current = 'up-again';
    };
    try {
      const stats = await sendStream({
        url: ingress.url,
        ids: requestIds('frz', 2000),
        ratePerSecond: 200,
        maxDurationMs: 30_000,
        phase,
        fault: { atMs: 3000, run: freezeFor5s },
      });
      const verdict = await verifyExactlyOnce(redis.url, prefix, stats.acked);
      const client = new Redis(redis.url);
      const counts = await outcomeCounts(client, prefix);
      client.disconnect();
      const storedDespite503 = [...counts.keys()].filter((id) => !stats.acked.has(id));
      report('redis-sigstop-5s-resume', stats, verdict, {
        storedDespite503: storedDespite503.length,
        processedTwice: [...counts.values()].filter((n) => n > 1).length,
      });

      expect(stats.byPhase.frozen?.['200']).toBeUndefined();
      expect(stats.byPhase.frozen?.['503']).toBeGreaterThan(300);
      expect(stats.byPhase['up-again']?.['200']).toBeGreaterThan(100);
      expect(stats.unavailableWithoutRetryAfter).toBe(0);
      expect(verdict.lost).toEqual([]);
      expect(verdict.duplicated).toEqual([]);
      // Also the events that were answered 503 but landed later are recorded at most once.
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    } finally {
      if (redis.process.exitCode === null) redis.process.kill('SIGCONT');
      await Promise.all([ingress.proc.kill('SIGTERM'), worker.kill('SIGTERM')]);
      await redis.stop();
    }
  }, 120_000);
});
