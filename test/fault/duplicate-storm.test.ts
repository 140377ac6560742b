import { startRedisServer, uniquePrefix } from '@vod-callbacks/test-support';
import { describe, expect, it } from 'vitest';
import { duplicateCount, requestIds, sendStream, startIngress, startWorker } from './fault-harness.js';
import { report, verifyExactlyOnce } from './verdict.js';

/** Each id three times, as VOD's retries interleave with new callbacks: copy n+1 trails copy n by `lag`. */
function interleavedCopies(ids: readonly string[], lag: number): string[] {
  const out: string[] = [];
  for (let k = 0; k < ids.length + 2 * lag; k++) {
    for (const j of [k, k - lag, k - 2 * lag]) if (j >= 0 && j < ids.length) out.push(ids[j]!);
  }
  return out;
}

// Fault 5: a duplicate storm with completed jobs removed at once, so BullMQ's job-id dedupe is gone
// by the time the later copies arrive and only the worker's processed-marker stands between them.
describe('fault: duplicate storm (every callback 3×, interleaved)', () => {
  it('yields one outcome per RequestId even after the first copy’s job was removed from BullMQ', async () => {
    const redis = await startRedisServer({ appendOnly: true });
    const prefix = uniquePrefix('f-dup');
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, EVENT_JOB_KEEP_COMPLETED: '0' };
    const workers = [await startWorker(env), await startWorker(env)];
    const ingress = await startIngress(env);
    try {
      const ids = requestIds('dup', 1000);
      const stream = interleavedCopies(ids, 300);
      expect(stream).toHaveLength(3000);
      const stats = await sendStream({
        url: ingress.url,
        ids: stream,
        ratePerSecond: 300,
        maxDurationMs: 30_000,
      });
      const verdict = await verifyExactlyOnce(redis.url, prefix, stats.acked);
      // The later copies really were processed again as new jobs (and recognised as duplicates).
      const duplicatesSeen = await Promise.all(workers.map((w) => duplicateCount(w.output())));
      const seen = duplicatesSeen.reduce((a, b) => a + b, 0);
      report('duplicate-storm-3x', stats, verdict, {
        requests: stream.length,
        duplicatesDroppedByWorker: seen,
      });

      expect(stats.acked.size).toBe(1000);
      expect(seen).toBeGreaterThan(500);
      expect(verdict.lost).toEqual([]);
      expect(verdict.duplicated).toEqual([]);
    } finally {
      await Promise.all([ingress.proc.kill('SIGTERM'), ...workers.map((w) => w.kill('SIGTERM'))]);
      await redis.stop();
    }
  }, 180_000);
});
