import { type RedisServerHandle, startRedisServer, uniquePrefix, waitFor } from '@vod-callbacks/test-support';
import { describe, expect, it } from 'vitest';
import { requestIds, rssBytes, sendStream, startIngress, startWorker } from './fault-harness.js';
import { report, verifyExactlyOnce } from './verdict.js';

const MB = 1024 * 1024;

// Fault 3: Redis unavailable for 60 s — first 30 s frozen (SIGSTOP: connections open, no answers,
// so every enqueue runs into ENQUEUE_TIMEOUT_MS), then 30 s dead (SIGKILL: connections refused),
// then restarted on the same data dir.
describe('fault: Redis unavailable for 60 s', () => {
  it('503 + Retry-After and /readyz 503 throughout, no crash, bounded ingress memory, no acked loss', async () => {
    const original = await startRedisServer({ appendOnly: true });
    let redis: RedisServerHandle = original;
    const prefix = uniquePrefix('f-outage');
    const env = {
      REDIS_URL: original.url,
      QUEUE_PREFIX: prefix,
      ENQUEUE_TIMEOUT_MS: '2000',
      RETRY_AFTER_SECONDS: '5',
    };
    const worker = await startWorker(env);
    const ingress = await startIngress(env);
    const pid = ingress.proc.child.pid!;
    const phase = { current: 'up' };
    const rss: Record<string, number> = {};
    const readyz: Record<string, Record<string, number>> = {};
    let stopPolling = false;
    // /readyz once a second, tallied by the phase it was asked and answered in.
    const polling = (async () => {
      while (!stopPolling) {
        const asked = phase.current;
        const status = await fetch(`${ingress.url}/readyz`, { signal: AbortSignal.timeout(5000) })
          .then((r) => String(r.status))
          .catch(() => 'error');
        if (phase.current === asked) {
          const p = readyz[asked] ?? {};
          p[status] = (p[status] ?? 0) + 1;
          readyz[asked] = p;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const freeze30sThenDown30s = async () => {
      rss.beforeOutage = rssBytes(pid);
      original.process.kill('SIGSTOP');
      phase.current = 'frozen-settling';
      // Requests already waiting for Redis when it froze may still see the last answers.
      await sleep(2500);
      phase.current = 'frozen';
      await sleep(27_500);
      rss.afterFrozen30s = rssBytes(pid);
      phase.current = 'killing';
      await original.kill('SIGKILL');
      phase.current = 'down';
      await sleep(30_000);
      rss.endOfOutage = rssBytes(pid);
      phase.current = 'restarting';
      redis = await original.restart();
      phase.current = 'up-again';
    };
    try {
      const stats = await sendStream({
        url: ingress.url,
        ids: requestIds('out', 2000),
        ratePerSecond: 25,
        maxDurationMs: 90_000,
        phase,
        fault: { atMs: 5000, run: freeze30sThenDown30s },
      });
      await waitFor(
        '/readyz 200 after the outage',
        async () => (await fetch(`${ingress.url}/readyz`)).status === 200,
        15_000,
        200,
      );
      stopPolling = true;
      await polling;
      rss.afterRecovery = rssBytes(pid);
      const verdict = await verifyExactlyOnce(redis.url, prefix, stats.acked);
      const growthMb = Math.round(((rss.endOfOutage ?? 0) - (rss.beforeOutage ?? 0)) / MB);
      report('redis-unavailable-60s', stats, verdict, {
        readyz,
        rssMb: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, Math.round(v / MB)])),
        rssGrowthDuringOutageMb: growthMb,
      });

      for (const p of ['frozen', 'down']) {
        expect(stats.byPhase[p]?.['200'], `200 while ${p}`).toBeUndefined();
        expect(stats.byPhase[p]?.['503'], `503s while ${p}`).toBeGreaterThan(300);
        expect(Object.keys(stats.byPhase[p] ?? {}), `only 503 while ${p}`).toEqual(['503']);
        expect(readyz[p]?.['200'], `/readyz 200 while ${p}`).toBeUndefined();
        expect(readyz[p]?.['503'], `/readyz 503 while ${p}`).toBeGreaterThan(5);
      }
      expect(stats.unavailableWithoutRetryAfter).toBe(0);
      expect(stats.byPhase['up-again']?.['200']).toBeGreaterThan(100);
      expect(ingress.proc.child.exitCode).toBeNull();
      expect(worker.child.exitCode).toBeNull();
      // Bounded memory: refused callbacks are not kept (no offline queue, timed-out adds released).
      expect(growthMb).toBeLessThan(40);
      expect(verdict.lost).toEqual([]);
      expect(verdict.duplicated).toEqual([]);
    } finally {
      stopPolling = true;
      if (original.process.exitCode === null) original.process.kill('SIGCONT');
      await Promise.all([ingress.proc.kill('SIGTERM'), worker.kill('SIGTERM')]);
      await redis.kill();
      await original.stop();
    }
  }, 240_000);
});
