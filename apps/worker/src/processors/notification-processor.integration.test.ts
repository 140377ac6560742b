import {
  DEAD_LETTERS_QUEUE,
  type DeadLetterJobData,
  type Decision,
  NOTIFICATIONS_QUEUE,
  type NotificationJobData,
  notificationJobIdOf,
  type OutcomeRecord,
  webhookIdOf,
} from '@vod-callbacks/shared';
import { startWebhookReceiver, type WebhookReceiver, waitFor } from '@vod-callbacks/test-support';
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outcomeRecord } from '../../../../test/helpers/outcome-record.js';
import { type WorkerFixture, workerFixture } from '../../../../test/helpers/worker-fixture.js';
import { WorkerManager } from '../worker-manager.js';

// The record script writes the notification job in the same call as the outcome; a plain BullMQ
// Worker (the notification processor) delivers it to a real receiver that verifies signatures.

/** An outcome with a notification: a success, or for any other decision a permanent failure (404). */
function outcome(requestId: string, decision: Decision, attempt = 1): OutcomeRecord {
  const failure =
    decision === 'succeeded'
      ? {}
      : { vid: '', code: 'DownloadFailed.UrlDownloadFail', class: 'permanent' as const };
  return outcomeRecord(requestId, {
    callbackArgs: 'a=1',
    decision,
    attempt,
    eventTime: '2026-01-01T00:00:00Z',
    processedAt: new Date().toISOString(),
    ...failure,
  });
}

describe('outcome notifications', () => {
  let fx: WorkerFixture;
  let receiver: WebhookReceiver;
  let manager: WorkerManager | undefined;
  let queue: Queue<NotificationJobData>;
  let deadLetters: Queue<DeadLetterJobData>;

  beforeEach(async () => {
    fx = workerFixture('notify', {
      outcomesMaxLen: 1000,
      notifications: { decisions: new Set(['succeeded', 'failed_permanent']), attempts: 5 },
    });
    receiver = await startWebhookReceiver();
    queue = new Queue(NOTIFICATIONS_QUEUE, { connection: fx.redis, prefix: fx.prefix });
    deadLetters = new Queue(DEAD_LETTERS_QUEUE, { connection: fx.redis, prefix: fx.prefix });
  });

  afterEach(async () => {
    await manager?.close();
    manager = undefined;
    await queue.close();
    await deadLetters.close();
    await receiver.close();
    await fx.close();
  });

  async function startDelivery(backoffMs = 50) {
    manager = new WorkerManager(
      {
        connection: fx.redis,
        prefix: fx.prefix,
        concurrency: 5,
        lockDurationMs: 5000,
        keepCompleted: 100,
        processingDelayMs: 0,
      },
      fx.metrics,
      fx.writers,
      fx.logger,
      fx.store,
    );
    await manager.startNotificationWorker(
      {
        target: { url: new URL(receiver.url), secret: receiver.secret, timeoutMs: 2000, allowPrivate: true },
        store: fx.store,
        writers: fx.writers,
        metrics: fx.metrics,
        logger: fx.logger,
      },
      { concurrency: 5, limiter: { max: 1000, duration: 1000 }, backoffMs, backoffMaxMs: 1000 },
    );
  }

  /** The first dead letter, once there is one. */
  const firstDeadLetter = () => waitFor('dead letter', async () => (await deadLetters.getJobs(['wait']))[0]);

  const counter = async (result: string) =>
    (await fx.metrics.webhookDeliveries.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

  it('writes the notification with the outcome, once, for the configured decisions only', async () => {
    const results = await Promise.all([
      fx.store.record('req-a', outcome('req-a', 'succeeded')),
      fx.store.record('req-b', outcome('req-b', 'reupload_scheduled')),
      fx.store.record('req-a', outcome('req-a', 'succeeded')),
    ]);
    expect(results.map((r) => r.written)).toEqual([true, true, false]);
    const jobs = await queue.getJobs(['wait']);
    expect(jobs.map((j) => j.id)).toEqual([notificationJobIdOf('req-a')]);
    const [stored] = await fx.redis.xrange(`${fx.prefix}:outcomes`, '-', '+', 'COUNT', 1);
    expect(jobs[0]!.data.webhookId).toBe(webhookIdOf('req-a'));
    expect(jobs[0]!.data.outcome).toEqual({
      ...outcome('req-a', 'succeeded'),
      processedAt: expect.any(String),
      outcomeId: stored![0],
    });
    expect(jobs[0]!.data.outcome.attempt).toBe(1);
    expect(jobs[0]!.opts.attempts).toBe(5);
    expect(await fx.redis.zrange(fx.store.keys.pendingNotifications, 0, -1)).toEqual([
      notificationJobIdOf('req-a'),
    ]);
    expect(await fx.store.oldestPendingNotificationMs()).toBeGreaterThan(Date.now() - 10_000);
  });

  it('retries 503 (honouring Retry-After) and delivers once with the same webhook-id', async () => {
    let calls = 0;
    receiver.answer = () =>
      ++calls <= 3 ? { status: 503, headers: { 'retry-after': '0' } } : { status: 200 };
    await fx.store.record('req-c', outcome('req-c', 'failed_permanent'));
    await startDelivery();
    await waitFor('delivery', () => receiver.delivered().size === 1, 10_000);
    // The receiver records the webhook before it answers; the worker counts it once the answer is back.
    await waitFor('delivery counted', async () => (await counter('delivered')) > 0);
    expect(receiver.received.map((r) => r.id)).toEqual(Array(4).fill(webhookIdOf('req-c')));
    expect(receiver.received[3]!.payload.type).toBe('vod.upload.failed_permanent');
    expect(await counter('retried')).toBe(3);
    expect(await counter('delivered')).toBe(1);
    await waitFor(
      'pending cleared',
      async () => (await fx.store.oldestPendingNotificationMs()) === undefined,
    );
  });

  it('dead-letters a 400 (webhook_rejected) with the notification and the answer excerpt', async () => {
    receiver.answer = () => ({ status: 400, body: 'unknown event type' });
    await fx.store.record('req-d', outcome('req-d', 'succeeded'));
    await startDelivery();
    const dl = await firstDeadLetter();
    expect(dl.data.reason).toBe('webhook_rejected');
    expect(dl.data.detail).toContain('HTTP 400: unknown event type');
    expect(dl.data.notification?.webhookId).toBe(webhookIdOf('req-d'));
    expect(receiver.received).toHaveLength(1);
    // The dead letter is written first; the pending entry and the counter follow it.
    await waitFor('rejection counted', async () => (await counter('rejected')) > 0);
    expect(await counter('rejected')).toBe(1);
    expect(await fx.store.oldestPendingNotificationMs()).toBeUndefined();
  });

  it('dead-letters a notification still failing on its last attempt (webhook_exhausted)', async () => {
    receiver.answer = () => ({ status: 500 });
    await fx.store.record('req-e', outcome('req-e', 'succeeded'));
    await startDelivery(10);
    const dl = await firstDeadLetter();
    expect(dl.data.reason).toBe('webhook_exhausted');
    expect(receiver.received).toHaveLength(5);
    await waitFor('exhaustion counted', async () => (await counter('exhausted')) > 0);
    expect(await counter('retried')).toBe(4);
    expect(await counter('exhausted')).toBe(1);
  });
});
