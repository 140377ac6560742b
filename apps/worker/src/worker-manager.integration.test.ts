import {
  DEAD_LETTERS_QUEUE,
  type DeadLetterJobData,
  EVENTS_QUEUE,
  eventJobDataJson,
  eventJobOptions,
  outcomeFromFields,
  stableHash,
} from '@vod-callbacks/shared';
import { waitFor } from '@vod-callbacks/test-support';
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outcomeRecord } from '../../../test/helpers/outcome-record.js';
import { type WorkerFixture, workerFixture } from '../../../test/helpers/worker-fixture.js';
import { EventJobWriter } from '../../ingress/src/event-job-writer.js';
import { WorkerManager } from './worker-manager.js';

describe('worker manager: an event job that fails for good (real Redis and BullMQ)', () => {
  let fx: WorkerFixture;
  let manager: WorkerManager;

  beforeEach(() => {
    fx = workerFixture('wm', { outcomesMaxLen: 1000 });
    manager = new WorkerManager(
      {
        connection: fx.redis,
        prefix: fx.prefix,
        concurrency: 1,
        lockDurationMs: 30_000,
        keepCompleted: 10,
        processingDelayMs: 0,
      },
      fx.metrics,
      fx.writers,
      fx.logger,
      fx.store,
    );
  });

  afterEach(async () => {
    await manager.close();
    await fx.close();
  });

  it('is dead-lettered (processing_error) with the callback body byte for byte, as the ingress stored it', async () => {
    manager.register(EVENTS_QUEUE, async () => Promise.reject(new Error('boom')), 1);
    // Spacing, an escape and a trailing zero that re-serialising the parsed event would change.
    const raw = ' {\n  "RequestId" : "wm-1",\n  "Note": "caf\\u00e9",  "Size": 1.50 }';
    const ingressWriter = new EventJobWriter(fx.redis, fx.prefix, {
      jobOptions: eventJobOptions({ EVENT_JOB_ATTEMPTS: 1, EVENT_JOB_KEEP_COMPLETED: 10 }),
      eventsMaxLen: 1000,
    });
    const now = Date.now();
    expect(await ingressWriter.add('evt-wm-1', eventJobDataJson(raw, now), now)).toBe('added');

    const deadLetters = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, {
      connection: fx.redis,
      prefix: fx.prefix,
    });
    const letter = await waitFor('the dead letter', async () =>
      deadLetters.getJob(`dl-${stableHash(`failed:${EVENTS_QUEUE}:evt-wm-1`)}`),
    );
    expect(letter.data).toMatchObject({ reason: 'processing_error', body: raw });
    expect(letter.data.detail).toMatch(/failed 1 times: boom/);
    await deadLetters.close();
  });

  const outcomes = async () =>
    (await fx.redis.xrange(`${fx.prefix}:outcomes`, '-', '+')).map(([, f]) => outcomeFromFields(f));

  const addEvent = async (requestId: string, attempts: number, body?: string) => {
    const ingressWriter = new EventJobWriter(fx.redis, fx.prefix, {
      jobOptions: {
        ...eventJobOptions({ EVENT_JOB_ATTEMPTS: attempts, EVENT_JOB_KEEP_COMPLETED: 10 }),
        backoff: 1,
      },
      eventsMaxLen: 1000,
    });
    const raw =
      body ??
      JSON.stringify({
        RequestId: requestId,
        EventType: 'FileUploadByUrlComplete',
        Data: { Code: 'Success', JobId: 'j-1', SourceUrl: 'https://example.com/v.mp4', SpaceName: 's' },
      });
    const now = Date.now();
    expect(await ingressWriter.add(`evt-${requestId}`, eventJobDataJson(raw, now), now)).toBe('added');
  };

  const deadLetter = async (jobId: string) => {
    const deadLetters = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, {
      connection: fx.redis,
      prefix: fx.prefix,
    });
    try {
      return await waitFor('the dead letter', async () =>
        deadLetters.getJob(`dl-${stableHash(`failed:${EVENTS_QUEUE}:${jobId}`)}`),
      );
    } finally {
      await deadLetters.close();
    }
  };

  it('gets exactly one outcome (dead_lettered, processing_error) with its RequestId, after all its attempts', async () => {
    manager.register(EVENTS_QUEUE, async () => Promise.reject(new Error('boom')), 1);
    await addEvent('wm-2', 3);
    await deadLetter('evt-wm-2');
    const mine = await waitFor('the outcome', async () => {
      const all = await outcomes();
      return all.length > 0 ? all : undefined;
    });
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      requestId: 'wm-2',
      jobId: 'j-1',
      decision: 'dead_lettered',
      reason: 'processing_error',
    });
  });

  it('adds no second outcome when the event’s outcome was recorded before the job failed', async () => {
    manager.register(
      EVENTS_QUEUE,
      async () => {
        await fx.store.record('wm-3', outcomeRecord('wm-3', { jobId: 'j-1' }));
        throw new Error('failed after the record');
      },
      1,
    );
    await addEvent('wm-3', 1);
    await deadLetter('evt-wm-3');
    await new Promise((r) => setTimeout(r, 200));
    expect((await outcomes()).map((o) => o.decision)).toEqual(['succeeded']);
  });

  it('uses the job id as RequestId when the body has no usable one', async () => {
    manager.register(EVENTS_QUEUE, async () => Promise.reject(new Error('boom')), 1);
    await addEvent('wm-4', 1, '{"RequestId": {"toString": 1}, "Data": null}');
    await deadLetter('evt-wm-4');
    const mine = await waitFor('the outcome', async () => {
      const all = await outcomes();
      return all.length > 0 ? all : undefined;
    });
    expect(mine.map((o) => [o.requestId, o.reason])).toEqual([['job:evt-wm-4', 'processing_error']]);
  });
});
