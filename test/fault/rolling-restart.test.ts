import { type AppProcess, startRedisServer, uniquePrefix } from '@vod-callbacks/test-support';
import { describe, expect, it } from 'vitest';
import { requestIds, sendStream, startIngress, startWorker } from './fault-harness.js';
import { report, verifyExactlyOnce } from './verdict.js';

// Fault 4: every worker replaced in turn (SIGTERM, wait for exit, start a new one) under load.
describe('fault: rolling restart of the workers under load', () => {
  it('each worker drains and exits 143 (128 + SIGTERM), and no callback is lost or doubled', async () => {
    const redis = await startRedisServer({ appendOnly: true });
    const prefix = uniquePrefix('f-roll');
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix };
    const workerEnv = {
      ...env,
      PROCESSING_DELAY_MS: '100',
      WORKER_CONCURRENCY: '20',
      WORKER_LOCK_MS: '5000',
    };
    const workers: AppProcess[] = [
      await startWorker(workerEnv),
      await startWorker(workerEnv),
      await startWorker(workerEnv),
    ];
    const retired: { code: number | null; signal: string | null; output: string; tookMs: number }[] = [];
    const ingress = await startIngress(env);
    try {
      const rolling = (async () => {
        for (let i = 0; i < 3; i++) {
          await new Promise((r) => setTimeout(r, 4000));
          const old = workers[i]!;
          const started = Date.now();
          const exit = await old.kill('SIGTERM');
          retired.push({ ...exit, output: old.output(), tookMs: Date.now() - started });
          workers[i] = await startWorker(workerEnv);
        }
      })();
      const stats = await sendStream({
        url: ingress.url,
        ids: requestIds('roll', 3000),
        ratePerSecond: 150,
        maxDurationMs: 40_000,
      });
      await rolling;
      const verdict = await verifyExactlyOnce(redis.url, prefix, stats.acked);
      report('rolling-restart-sigterm', stats, verdict, {
        workerExitCodes: retired.map((r) => r.code),
        drainMs: retired.map((r) => r.tookMs),
      });

      expect(retired.map((r) => r.code)).toEqual([143, 143, 143]); // 128 + SIGTERM: drained and done
      for (const r of retired) expect(r.output).toMatch(/shutdown complete/);
      expect(stats.acked.size).toBe(stats.sent);
      expect(verdict.lost).toEqual([]);
      expect(verdict.duplicated).toEqual([]);
    } finally {
      await Promise.all([ingress.proc.kill('SIGTERM'), ...workers.map((w) => w.kill('SIGTERM'))]);
      await redis.stop();
    }
  }, 180_000);
});
