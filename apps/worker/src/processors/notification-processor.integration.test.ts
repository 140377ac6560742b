import {
  createRedis,
  createRegistry,
  createWorkerMetrics,
  DEAD_LETTERS_QUEUE,
  type DeadLetterJobData,
  type Decision,
  NOTIFICATIONS_QUEUE,
  type NotificationJobData,
  notificationJobIdOf,
  type OutcomeRecord,
  webhookIdOf,
} from '@vod-callbacks/shared';
import {
  deletePrefix,
  startWebhookReceiver,
  testRedisUrl,
  uniquePrefix,
  type WebhookReceiver,
  waitFor,
} from '@vod-callbacks/test-support';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobWriters } from '../job-writers.js';
import { OutcomeStore } from '../outcome-store.js';
import { WorkerManager } from '../worker-manager.js';

// The record script writes the notification job in the same call as the outcome; a plain BullMQ
// Worker (the notification processor) delivers it to a real receiver that verifies signatures.

function outcome(requestId: string, decision: Decision, attempt = 1): OutcomeRecord {
  return {
    requestId,
    jobId: `job-${requestId}`,
    spaceName: 'space',
    sourceUrl: `https://media.example.test/${requestId}.mp4`,
    callbackArgs: 'a=1',
    vid: decision === 'succeeded' ? 'v0abc' : '',
    code: decision === 'succeeded' ? 'Success' : 'DownloadFailed.UrlDownloadFail',
    class: decision === 'succeeded' ? 'success' : 'permanent',
    decision,
    attempt,
    eventTime: '2026-01-01T00:00:00Z',
    processedAt: new Date().toISOString(),
  };
}

describe('outcome notifications', () => {
  let redis: Redis;
  let prefix: string;
  let store: OutcomeStore;
  let writers: JobWriters;
  let receiver: WebhookReceiver;
  let registry: Registry;
  let manager: WorkerManager | undefined;
  let queue: Queue<NotificationJobData>;
  let metrics: ReturnType<typeof createWorkerMetrics>;

  beforeEach(async () => {
    prefix = uniquePrefix('notify');
    redis = createRedis(testRedisUrl(), 'worker', 'test-notify');
    receiver = await startWebhookReceiver();
    store = new OutcomeStore(redis, {
      prefix,
      dedupeTtlSeconds: 3600,
      outcomesMaxLen: 1000,
      sourceStateTtlSeconds: 3600,
      notifications: { decisions: new Set(['succeeded', 'failed_permanent']), attempts: 5 },
    });
    writers = new JobWriters(redis, { prefix, eventsMaxLen: 1000 });
    registry = createRegistry('worker');
    metrics = createWorkerMetrics(registry);
    queue = new Queue(NOTIFICATIONS_QUEUE, { connection: redis, prefix });
  });

  afterEach(async () => {
    await manager?.close();
    manager = undefined;
    await queue.close();
    await writers.close();
    await receiver.close();
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  async function startDelivery(backoffMs = 50) {
    manager = new WorkerManager(
      {
        connection: redis,
        prefix,
        concurrency: 5,
        lockDurationMs: 5000,
        keepCompleted: 100,
        processingDelayMs: 0,
      },
      metrics,
      writers,
      pino({ level: 'silent' }),
      store,
    );
    await manager.startNotificationWorker(
      {
        target: { url: new URL(receiver.url), secret: receiver.secret, timeoutMs: 2000, allowPrivate: true },
        store,
        writers,
        metrics,
        logger: pino({ level: 'silent' }),
      },
      { concurrency: 5, ratePerSecond: 1000, backoffMs, backoffMaxMs: 1000 },
    );
  }

  const counter = async (result: string) =>
    (await metrics.webhookDeliveries.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

  it('writes the notification with the outcome, once, for the configured decisions only', async () => {
    const results = await Promise.all([
      store.record('req-a', outcome('req-a', 'succeeded')),
      store.record('req-b', outcome('req-b', 'reupload_scheduled')),
      store.record('req-a', outcome('req-a', 'succeeded')),
    ]);
    expect(results.map((r) => r.written)).toEqual([true, true, false]);
    const jobs = await queue.getJobs(['wait']);
    expect(jobs.map((j) => j.id)).toEqual([notificationJobIdOf('req-a')]);
    const [stored] = await redis.xrange(`${prefix}:outcomes`, '-', '+', 'COUNT', 1);
    expect(jobs[0]!.data.webhookId).toBe(webhookIdOf('req-a'));
    expect(jobs[0]!.data.outcome).toEqual({
      ...outcome('req-a', 'succeeded'),
      processedAt: expect.any(String),
      outcomeId: stored![0],
    });
    expect(jobs[0]!.data.outcome.attempt).toBe(1);
    expect(jobs[0]!.opts.attempts).toBe(5);
    expect(await redis.zrange(store.keys.pendingNotifications, 0, -1)).toEqual([
      notificationJobIdOf('req-a'),
    ]);
    expect(await store.oldestPendingNotificationMs()).toBeGreaterThan(Date.now() - 10_000);
  });

  it('retries 503 (honouring Retry-After) and delivers once with the same webhook-id', async () => {
    let calls = 0;
    receiver.answer = () =>
      ++calls <= 3 ? { status: 503, headers: { 'retry-after': '0' } } : { status: 200 };
    await store.record('req-c', outcome('req-c', 'failed_permanent'));
    await startDelivery();
    await waitFor('delivery', () => receiver.delivered().size === 1, 10_000);
    // The receiver records the webhook before it answers; the worker counts it once the answer is back.
    await waitFor('delivery counted', async () => (await counter('delivered')) > 0);
    expect(receiver.received.map((r) => r.id)).toEqual(Array(4).fill(webhookIdOf('req-c')));
    expect(receiver.received[3]!.payload.type).toBe('vod.upload.failed_permanent');
    expect(await counter('retried')).toBe(3);
    expect(await counter('delivered')).toBe(1);
    await waitFor('pending cleared', async () => (await store.oldestPendingNotificationMs()) === undefined);
  });

  it('dead-letters a 400 (webhook_rejected) with the notification and the answer excerpt', async () => {
    receiver.answer = () => ({ status: 400, body: 'unknown event type' });
    await store.record('req-d', outcome('req-d', 'succeeded'));
    await startDelivery();
    const dlq = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, { connection: redis, prefix });
    try {
      const [dl] = await waitFor('dead letter', async () => {
        const jobs = await dlq.getJobs(['wait']);
        return jobs.length > 0 ? jobs : undefined;
      });
      expect(dl!.data.reason).toBe('webhook_rejected');
      expect(dl!.data.detail).toContain('HTTP 400: unknown event type');
      expect(dl!.data.notification?.webhookId).toBe(webhookIdOf('req-d'));
      expect(receiver.received).toHaveLength(1);
      // The dead letter is written first; the pending entry and the counter follow it.
      await waitFor('rejection counted', async () => (await counter('rejected')) > 0);
      expect(await counter('rejected')).toBe(1);
      expect(await store.oldestPendingNotificationMs()).toBeUndefined();
    } finally {
      await dlq.close();
    }
  });

  it('dead-letters a notification still failing on its last attempt (webhook_exhausted)', async () => {
    receiver.answer = () => ({ status: 500 });
    await store.record('req-e', outcome('req-e', 'succeeded'));
    await startDelivery(10);
    const dlq = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, { connection: redis, prefix });
    try {
      const [dl] = await waitFor('dead letter', async () => {
        const jobs = await dlq.getJobs(['wait']);
        return jobs.length > 0 ? jobs : undefined;
      });
      expect(dl!.data.reason).toBe('webhook_exhausted');
      expect(receiver.received).toHaveLength(5);
      await waitFor('exhaustion counted', async () => (await counter('exhausted')) > 0);
      expect(await counter('retried')).toBe(4);
      expect(await counter('exhausted')).toBe(1);
    } finally {
      await dlq.close();
    }
  });
});
