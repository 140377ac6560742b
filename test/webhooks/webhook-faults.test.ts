import { NOTIFICATIONS_QUEUE } from '@vod-callbacks/shared';
import {
  freePort,
  startApp,
  startWebhookReceiver,
  type WebhookReceiver,
  waitFor,
} from '@vod-callbacks/test-support';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { type Pipeline, postCallback, startPipeline, uploadEvent } from '../support/pipeline.js';
import { parsePromText, sampleValue } from '../support/prom-text.js';
import { deliveryVerdict, finalOutcomes, reportWebhooks, webhookEnv } from './webhook-support.js';

// Faults on the way to the customer's receiver: it is down for 30 s while outcomes keep coming, and
// the worker is SIGKILLed after recording outcomes but before delivering them. Nothing may be lost.

/** Sends `perSecond` successes a second for `seconds`; resolves with how many were acknowledged. */
async function steadyLoad(ingressUrl: string, perSecond: number, seconds: number): Promise<number> {
  let acked = 0;
  const pending: Promise<void>[] = [];
  const started = Date.now();
  for (let i = 0; i < perSecond * seconds; i++) {
    const due = started + (i * 1000) / perSecond;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    pending.push(
      postCallback(
        ingressUrl,
        uploadEvent(i % 10 === 9 ? 'DownloadFailed.UrlDownloadFail' : 'Success', '404'),
      ).then((s) => {
        if (s === 200) acked++;
      }),
    );
  }
  await Promise.all(pending);
  return acked;
}

describe('outcome webhooks under faults (live processes)', () => {
  let receiver: WebhookReceiver | undefined;
  let p: Pipeline | undefined;
  const extra: { kill(): Promise<unknown> }[] = [];

  afterEach(async () => {
    await Promise.all(extra.splice(0).map((e) => e.kill()));
    await p?.stop();
    await receiver?.close();
  });

  it('3. receiver down for 30 s under load: everything is delivered after, nothing lost', async () => {
    receiver = await startWebhookReceiver();
    p = await startPipeline({
      label: 'hooks-outage',
      ingressEnv: { CALLBACK_AUTH: 'none' },
      workerEnv: webhookEnv(receiver, {
        OUTCOME_WEBHOOK_BACKOFF_MAX_MS: '2000',
        OUTCOME_WEBHOOK_MAX_ATTEMPTS: '1000',
      }),
    });
    await receiver.down();
    const downAt = Date.now();
    // 15 s of callbacks at 20/s while the receiver is away; it stays away 30 s in all.
    const acked = await steadyLoad(p.ingressUrl, 20, 15);
    const metricsUrl = p.workerMetricsUrl;
    await new Promise((r) => setTimeout(r, Math.max(0, downAt + 30_000 - Date.now())));
    const during = parsePromText(await (await fetch(metricsUrl)).text());
    const oldestPendingAtUp = sampleValue(during, 'vod_webhook_oldest_pending_seconds') ?? 0;
    const retriedWhileDown = sampleValue(during, 'vod_webhook_deliveries_total', { result: 'retried' }) ?? 0;
    expect(receiver.received).toHaveLength(0);
    await receiver.up();
    const upAt = Date.now();

    const outcomes = await finalOutcomes(p);
    expect(outcomes).toHaveLength(acked);
    await waitFor(
      'every outcome delivered after the outage',
      () => receiver!.delivered().size >= acked,
      60_000,
      100,
    );
    const drainedMs = Date.now() - upAt;
    const verdict = deliveryVerdict(receiver, outcomes);
    const after = parsePromText(await (await fetch(metricsUrl)).text());
    reportWebhooks('3-receiver-down-30s', {
      sent: acked,
      downSeconds: Math.round((upAt - downAt) / 1000),
      ...verdict,
      repeated: verdict.repeated.length,
      retriedWhileDown,
      oldestPendingSecondsAtUp: Math.round(oldestPendingAtUp),
      drainedAfterUpMs: drainedMs,
      dead: sampleValue(after, 'vod_webhook_deliveries_total', { result: 'exhausted' }),
    });
    expect(verdict.missing).toEqual([]);
    expect(verdict.unknown).toEqual([]);
    expect(retriedWhileDown).toBeGreaterThan(acked);
    expect(oldestPendingAtUp).toBeGreaterThanOrEqual(25);
    await waitFor(
      'nothing pending',
      async () =>
        sampleValue(
          parsePromText(await (await fetch(metricsUrl)).text()),
          'vod_webhook_oldest_pending_seconds',
        ) === 0,
      10_000,
      200,
    );
  }, 150_000);

  it('5. worker SIGKILLed between recording outcomes and delivering them: every one still delivered, same webhook-id', async () => {
    receiver = await startWebhookReceiver();
    // The first worker's requests are never answered: 4 hang in flight, the rest wait their turn.
    receiver.answer = () => 'hang';
    const env = webhookEnv(receiver, {
      OUTCOME_WEBHOOK_CONCURRENCY: '4',
      OUTCOME_WEBHOOK_TIMEOUT_MS: '60000',
      WORKER_LOCK_MS: '2000',
    });
    p = await startPipeline({ label: 'hooks-kill', ingressEnv: { CALLBACK_AUTH: 'none' }, workerEnv: env });
    const events = Array.from({ length: 60 }, () => uploadEvent('Success'));
    const statuses = await Promise.all(events.map((e) => postCallback(p!.ingressUrl, e)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    const outcomes = await waitFor(
      'every outcome recorded',
      async () => {
        const o = await finalOutcomes(p!);
        return o.length >= events.length ? o : undefined;
      },
      20_000,
      100,
    );
    await waitFor('deliveries in flight', () => receiver!.received.length >= 4, 10_000, 50);
    const queue = new Queue(NOTIFICATIONS_QUEUE, { connection: { url: p.redisUrl }, prefix: p.prefix });
    try {
      const atKill = await queue.getJobCounts('wait', 'active', 'delayed', 'completed');
      const killed = await p.worker.kill('SIGKILL');
      expect(killed.signal).toBe('SIGKILL');
      const inFlightIds = receiver.received.map((r) => r.id);
      expect(receiver.delivered().size).toBe(0);

      receiver.answer = () => ({ status: 200 });
      const restartedAt = Date.now();
      const worker = await startApp(
        'worker',
        {
          REDIS_URL: p.redisUrl,
          QUEUE_PREFIX: p.prefix,
          LOG_LEVEL: 'info',
          WORKER_METRICS_HOST: '127.0.0.1',
          WORKER_METRICS_PORT: String(await freePort()),
          ...env,
        },
        /worker consuming vod-events/,
      );
      extra.push(worker);
      await waitFor(
        'every outcome delivered',
        () => receiver!.delivered().size >= outcomes.length,
        30_000,
        100,
      );
      const verdict = deliveryVerdict(receiver, outcomes);
      reportWebhooks('5-worker-sigkill-before-delivery', {
        outcomes: outcomes.length,
        atKill,
        inFlightAtKill: inFlightIds.length,
        ...verdict,
        repeated: verdict.repeated.length,
        deliveredAfterRestartMs: Date.now() - restartedAt,
      });
      expect(verdict.missing).toEqual([]);
      expect(verdict.unknown).toEqual([]);
      expect(atKill.wait).toBeGreaterThan(0);
      // A request in flight at the kill is sent again with the same webhook-id.
      const delivered = receiver.delivered();
      for (const id of inFlightIds) expect(delivered.has(id), id).toBe(true);
    } finally {
      await queue.close();
    }
  }, 120_000);
});
