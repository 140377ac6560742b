import { type RedisServerHandle, startRedisServer, uniquePrefix, waitFor } from '@vod-callbacks/test-support';
import { describe, expect, it } from 'vitest';
import { requestIds, sendStream, startIngress, startWorker } from './fault-harness.js';
import { report, verifyExactlyOnce } from './verdict.js';

// Fault 1: Redis (AOF, appendfsync always) SIGKILLed mid-stream and restarted on the same data dir.
describe('fault: Redis SIGKILLed mid-stream and restarted', () => {
  it('answers 503 (never 200) while Redis is down, recovers on its own, loses no acknowledged callback', async () => {
    const original = await startRedisServer({ appendOnly: true });
    let redis: RedisServerHandle = original;
    const prefix = uniquePrefix('f-kill');
    const env = {
      REDIS_URL: original.url,
      QUEUE_PREFIX: prefix,
      ENQUEUE_TIMEOUT_MS: '1000',
      EVICTION_POLICY_CHECK: 'refuse',
    };
    const worker = await startWorker(env);
    const ingress = await startIngress(env);
    const phase = { current: 'up' };
    const killAndRestartAfter4s = async () => {
      phase.current = 'killing';
      await original.kill('SIGKILL');
      phase.current = 'down';
      await new Promise((r) => setTimeout(r, 4000));
      phase.current = 'restarting';
      redis = await original.restart();
      phase.current = 'up-again';
    };
    try {
      const stats = await sendStream({
        url: ingress.url,
        ids: requestIds('kill', 3000),
        ratePerSecond: 200,
        // The ids run out at ~15 s when idle. Under load the sender falls behind (the fault starts
        // later, the restart takes longer), and a 30 s stream once ended before 'up-again' began.
        maxDurationMs: 60_000,
        phase,
        fault: { atMs: 5000, run: killAndRestartAfter4s },
      });
      // Recovered on its own: readiness back, and the stream's tail was acknowledged again.
      await waitFor(
        '/readyz 200 after restart',
        async () => (await fetch(`${ingress.url}/readyz`)).status === 200,
        15_000,
        200,
      );
      const verdict = await verifyExactlyOnce(redis.url, prefix, stats.acked);
      report('redis-sigkill-restart', stats, verdict);

      expect(stats.byPhase.down?.['200']).toBeUndefined();
      expect(stats.byPhase.down?.['503']).toBeGreaterThan(100);
      expect(stats.byPhase['up-again']?.['200']).toBeGreaterThan(100);
      expect(stats.unavailableWithoutRetryAfter).toBe(0);
      expect(stats.other).toEqual({});
      expect(verdict.lost).toEqual([]);
      expect(verdict.duplicated).toEqual([]);
      expect(ingress.proc.child.exitCode).toBeNull();
      expect(worker.child.exitCode).toBeNull();
    } finally {
      await Promise.all([ingress.proc.kill('SIGTERM'), worker.kill('SIGTERM')]);
      await redis.kill();
      await original.stop();
    }
  }, 180_000);
});
