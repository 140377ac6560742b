import {
  createRedis,
  createRegistry,
  createWorkerMetrics,
  DEAD_LETTERS_QUEUE,
  type DeadLetterJobData,
  EVENTS_QUEUE,
  eventJobDataJson,
  eventJobOptions,
  stableHash,
} from '@vod-callbacks/shared';
import { deletePrefix, testRedisUrl, uniquePrefix, waitFor } from '@vod-callbacks/test-support';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventJobWriter } from '../../ingress/src/event-job-writer.js';
import { JobWriters } from './job-writers.js';
import { WorkerManager } from './worker-manager.js';

describe('worker manager: an event job that fails for good (real Redis and BullMQ)', () => {
  let prefix: string;
  let redis: Redis;
  let writers: JobWriters;
  let manager: WorkerManager;

  beforeEach(() => {
    prefix = uniquePrefix('wm');
    redis = createRedis(testRedisUrl(), 'worker', 'test');
    writers = new JobWriters(redis, { prefix, eventsMaxLen: 1000 });
    manager = new WorkerManager(
      {
        connection: redis,
        prefix,
        concurrency: 1,
        lockDurationMs: 30_000,
        keepCompleted: 10,
        processingDelayMs: 0,
      },
      createWorkerMetrics(createRegistry('worker')),
      writers,
      pino({ level: 'silent' }),
    );
  });

  afterEach(async () => {
    await manager.close();
    await writers.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('is dead-lettered (processing_error) with the callback body byte for byte, as the ingress stored it', async () => {
    manager.register(EVENTS_QUEUE, async () => Promise.reject(new Error('boom')), 1);
    // Spacing, an escape and a trailing zero that re-serialising the parsed event would change.
    const raw = ' {\n  "RequestId" : "wm-1",\n  "Note": "caf\\u00e9",  "Size": 1.50 }';
    const ingressWriter = new EventJobWriter(redis, prefix, {
      jobOptions: eventJobOptions({ EVENT_JOB_ATTEMPTS: 1, EVENT_JOB_KEEP_COMPLETED: 10 }),
      eventsMaxLen: 1000,
    });
    const now = Date.now();
    expect(await ingressWriter.add('evt-wm-1', eventJobDataJson(raw, now), now)).toBe('added');

    const deadLetters = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, { connection: redis, prefix });
    const letter = await waitFor('the dead letter', async () =>
      deadLetters.getJob(`dl-${stableHash(`failed:${EVENTS_QUEUE}:evt-wm-1`)}`),
    );
    expect(letter.data).toMatchObject({ reason: 'processing_error', body: raw });
    expect(letter.data.detail).toMatch(/failed 1 times: boom/);
    await deadLetters.close();
  });
});
