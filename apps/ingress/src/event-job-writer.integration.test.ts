import {
  createRedis,
  EVENT_JOB_NAME,
  EVENTS_QUEUE,
  type EventJobData,
  eventJobOptions,
} from '@vod-callbacks/shared';
import { deletePrefix, testRedisUrl, uniquePrefix, waitFor } from '@vod-callbacks/test-support';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventJobWriter } from './event-job-writer.js';

// The lean add must produce exactly the job bullmq 6.7.0's Queue.add produces with the same
// options, and a plain BullMQ Worker must treat it like one (data, attempts, backoff, retention).
const KEEP_COMPLETED = 2;
const DEFAULT_JOB_OPTIONS = eventJobOptions({
  EVENT_JOB_ATTEMPTS: 3,
  EVENT_JOB_KEEP_COMPLETED: KEEP_COMPLETED,
});
const OPTIONS = { jobOptions: DEFAULT_JOB_OPTIONS, eventsMaxLen: 1000 };

const data = (body: string, receivedAt: number) => JSON.stringify({ body, receivedAt });

describe('EventJobWriter', () => {
  let redis: Redis;
  let prefix: string;
  let queue: Queue<EventJobData>;
  let writer: EventJobWriter;
  const workers: Worker[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('ejw');
    redis = createRedis(testRedisUrl(), 'worker', 'test-ejw');
    queue = new Queue<EventJobData>(EVENTS_QUEUE, {
      connection: redis,
      prefix,
      streams: { events: { maxLen: OPTIONS.eventsMaxLen } },
      defaultJobOptions: DEFAULT_JOB_OPTIONS,
    });
    await queue.waitUntilReady();
    writer = new EventJobWriter(redis, prefix, OPTIONS);
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await queue.close();
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  const jobKey = (id: string) => `${prefix}:${EVENTS_QUEUE}:${id}`;

  it('writes the same job hash as Queue.add, and queues it the same way', async () => {
    await queue.add(EVENT_JOB_NAME, { body: '{"RequestId":"a\\"1"}', receivedAt: 5 }, { jobId: 'evt-a"1' });
    expect(await writer.add('evt-b"2', data('{"RequestId":"a\\"1"}', 5), 7)).toBe('added');

    const viaQueue = await redis.hgetall(jobKey('evt-a"1'));
    const viaWriter = await redis.hgetall(jobKey('evt-b"2'));
    const { timestamp: t1, opts: o1, ...rest1 } = viaQueue;
    const { timestamp: t2, opts: o2, ...rest2 } = viaWriter;
    expect(rest2).toEqual(rest1);
    expect(t1).toMatch(/^\d+$/);
    expect(t2).toBe('7');
    expect(JSON.parse(o2!)).toEqual({ ...JSON.parse(o1!), jobId: 'evt-b"2' });

    expect(await redis.lrange(`${prefix}:${EVENTS_QUEUE}:wait`, 0, -1)).toEqual(['evt-b"2', 'evt-a"1']);
    expect(await redis.zrange(`${prefix}:${EVENTS_QUEUE}:marker`, 0, -1)).toEqual(['0']);
    const job = await queue.getJob('evt-b"2');
    expect(job?.data).toEqual({ body: '{"RequestId":"a\\"1"}', receivedAt: 5 });
    expect(job?.opts.attempts).toBe(3);
    expect(await queue.getJobCounts('wait')).toEqual({ wait: 2 });
  });

  it('does not store a job id twice', async () => {
    expect(await writer.add('evt-dup', data('{"v":1}', 1), 1)).toBe('added');
    expect(await writer.add('evt-dup', data('{"v":2}', 2), 2)).toBe('duplicate');
    expect(await redis.llen(`${prefix}:${EVENTS_QUEUE}:wait`)).toBe(1);
    expect(await redis.hget(jobKey('evt-dup'), 'data')).toBe(data('{"v":1}', 1));
  });

  it('stores every add of one event-loop turn (they share one socket write)', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => `evt-burst-${i}`);
    const results = await Promise.all(ids.map((id, i) => writer.add(id, data(`{"i":${i}}`, i), i)));
    expect(results.every((r) => r === 'added')).toBe(true);
    expect(await redis.llen(`${prefix}:${EVENTS_QUEUE}:wait`)).toBe(500);
  });

  it('is consumed by a BullMQ Worker: data, retries with backoff, retention of completed jobs', async () => {
    const seen: { id: string; attemptsMade: number; data: EventJobData }[] = [];
    const worker = new Worker<EventJobData>(
      EVENTS_QUEUE,
      async (job: Job<EventJobData>) => {
        seen.push({ id: job.id!, attemptsMade: job.attemptsMade, data: job.data });
        if (job.id === 'evt-flaky' && job.attemptsMade === 0) throw new Error('first try fails');
      },
      {
        connection: redis,
        prefix,
        concurrency: 5,
        removeOnComplete: { count: KEEP_COMPLETED },
      },
    );
    workers.push(worker);
    await writer.add('evt-flaky', data('{"f":1}', 10), 10);
    for (let i = 0; i < 4; i++) await writer.add(`evt-ok-${i}`, data(`{"i":${i}}`, i), i);

    await waitFor(
      'the flaky job retried',
      () => seen.filter((s) => s.id === 'evt-flaky').length === 2,
      10_000,
    );
    await waitFor('the queue drained', async () => (await queue.getJobCounts('wait')).wait === 0, 5_000);
    expect(seen.find((s) => s.id === 'evt-ok-3')?.data).toEqual({ body: '{"i":3}', receivedAt: 3 });
    expect(seen.filter((s) => s.id === 'evt-flaky').map((s) => s.attemptsMade)).toEqual([0, 1]);
    await waitFor(
      'completed jobs capped',
      async () => (await queue.getJobCounts('completed')).completed === KEEP_COMPLETED,
    );
  });

  it('leaves a paused queue paused: the job waits, no worker is woken', async () => {
    await queue.pause();
    let processed = 0;
    const worker = new Worker(
      EVENTS_QUEUE,
      async () => {
        processed++;
      },
      { connection: redis, prefix },
    );
    workers.push(worker);
    await writer.add('evt-paused', data('{}', 1), 1);
    expect(await redis.zcard(`${prefix}:${EVENTS_QUEUE}:marker`)).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(processed).toBe(0);
    await queue.resume();
    await waitFor('the job processed after resume', () => processed === 1, 5_000);
  });
});
