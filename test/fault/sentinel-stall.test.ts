import { askRedis, startSentinelGroup, uniquePrefix, waitFor } from '@vod-callbacks/test-support';
import { describe, expect, it } from 'vitest';
import { saveTestLogs } from '../support/figures.js';
import { ingressCounters, progressLog, waitForEventsDrained } from './failover-support.js';
import { requestIds, sendStream, startIngress, startWorker } from './fault-harness.js';
import { report, verifyExactlyOnce } from './verdict.js';

// A master the Sentinels fail over while it is alive: SIGSTOPped (a stall, as a long fork or a
// frozen VM) for longer than down-after-milliseconds, so they promote its replica; then resumed.
// Sentinel converts a master that comes back only ~8 s after it sees it again, and until then
// clients still connected to it write there — with REDIS_MIN_REPLICAS=0, callbacks answered 200
// and then dropped by the conversion. The processes follow the master the Sentinels name
// (followSentinelMaster), so they leave the stalled master before it runs again.

const START_MS = 45_000;

const step = progressLog('sentinel-stall');

describe('fault: the Sentinels fail over from a master that is stalled, not dead', () => {
  it('REDIS_MIN_REPLICAS=0: the processes leave it while it is stopped; every callback answered 200 has exactly one outcome', async () => {
    const group = await startSentinelGroup({ replicas: 1, sentinels: 3 });
    const prefix = uniquePrefix('f-stall');
    const env = { ...group.env, QUEUE_PREFIX: prefix, REDIS_MIN_REPLICAS: '0', ENQUEUE_TIMEOUT_MS: '1000' };
    const worker = await startWorker({ ...env, WORKER_LOCK_MS: '2000' }, START_MS);
    const ingress = await startIngress(env, START_MS);
    const stalled = group.nodes[0]!;
    const phase = { current: 'before' };
    const figures: Record<string, unknown> = {};
    const stallUntilMoved = async () => {
      stalled.process.kill('SIGSTOP');
      const stoppedAt = Date.now();
      phase.current = 'stopped';
      step('master stopped');
      figures.promoted = await group.waitForFailover(stalled.port, 60_000);
      figures.promotedAfterSeconds = (Date.now() - stoppedAt) / 1000;
      phase.current = 'failed-over';
      step(`promoted ${figures.promoted}`);
      // Sentinel cannot demote a stopped process: a move now is the processes' own.
      await waitFor(
        'ingress and worker to log the move to the promoted master',
        async () =>
          [ingress.proc.output(), worker.output()].every((out) =>
            out.includes(`"address":"127.0.0.1:${figures.promoted}"`),
          ),
        20_000,
        100,
      );
      figures.movedAfterPromotionSeconds =
        (Date.now() - stoppedAt) / 1000 - (figures.promotedAfterSeconds as number);
      step('ingress and worker moved');
      stalled.process.kill('SIGCONT');
      const resumedAt = Date.now();
      phase.current = 'resumed';
      step('stalled master resumed');
      await waitFor(
        'Sentinel to convert the resumed master to a replica',
        async () => ((await askRedis(stalled.port, (c) => c.call('ROLE'))) as string[])[0] === 'slave',
        60_000,
        200,
      );
      figures.convertedAfterResumeSeconds = (Date.now() - resumedAt) / 1000;
      phase.current = 'converted';
      step('resumed master converted to a replica');
    };
    try {
      const stats = await sendStream({
        url: ingress.url,
        ids: requestIds('stall', 2000),
        ratePerSecond: 100,
        maxDurationMs: 90_000,
        phase,
        fault: { atMs: 5000, run: stallUntilMoved },
      });
      step('stream sent');
      const masterUrl = `redis://127.0.0.1:${await group.masterPort()}`;
      await waitForEventsDrained({ url: masterUrl }, [prefix]);
      const verdict = await verifyExactlyOnce(masterUrl, prefix, stats.acked, 10_000);
      figures.ingressReceived = await ingressCounters(ingress.url);
      report('sentinel-stall-min-replicas-0', stats, verdict, figures);
      // Each process said why it moved: the 'down' line carries the Sentinels' master.
      for (const out of [ingress.proc.output(), worker.output()])
        expect(out).toMatch(
          /the Sentinels name 127\.0\.0\.1:\d+ as master [^\n]*"msg":"redis connection down; reconnecting"/,
        );
      // Callbacks were answered 200 while the old master ran again (the window that used to lose them).
      expect(stats.byPhase.resumed?.['200'] ?? 0, JSON.stringify(stats.byPhase)).toBeGreaterThan(0);
      expect(verdict.lost).toEqual([]);
      expect(verdict.duplicated).toEqual([]);
      expect(ingress.proc.child.exitCode).toBeNull();
      expect(worker.child.exitCode).toBeNull();
    } finally {
      stalled.process.kill('SIGCONT');
      await Promise.all([ingress.proc.kill('SIGTERM'), worker.kill('SIGTERM')]);
      await group.stop();
      saveTestLogs('stall', { ingress: ingress.proc.output(), worker: worker.output(), redis: group.logs() });
    }
  }, 240_000);
});
