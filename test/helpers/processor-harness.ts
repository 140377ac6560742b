import {
  CodeClassifier,
  createRedis,
  createRegistry,
  createWorkerMetrics,
  DEAD_LETTERS_QUEUE,
  DEFAULT_JOB_SETTINGS,
  type DeadLetterJobData,
  EVENTS_QUEUE,
  type EventJobData,
  eventJobDataJson,
  eventJobId,
  eventJobOptions,
  type OutcomeRecord,
  outcomeFromFields,
  type RetryPolicy,
} from '@vod-callbacks/shared';
import { deletePrefix } from '@vod-callbacks/test-support';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { EventJobWriter } from '../../apps/ingress/src/event-job-writer.js';
import { JobWriters } from '../../apps/worker/src/job-writers.js';
import { OutcomeStore } from '../../apps/worker/src/outcome-store.js';
import {
  type EventProcessorDeps,
  type EventResult,
  processEvent,
} from '../../apps/worker/src/processors/event-processor.js';
import { ReuploadBudget } from '../../apps/worker/src/reupload-budget.js';
import { UploadTracker } from '../../apps/worker/src/upload-tracker.js';

/**
 * The worker's real event processor wired to a real Redis under one prefix, without a BullMQ
 * Worker: tests store jobs the way the ingress or `vodctl` does and process them one by one.
 */
export interface ProcessorHarness {
  prefix: string;
  redis: Redis;
  deps: EventProcessorDeps;
  events: Queue<EventJobData>;
  deadLetters: Queue<DeadLetterJobData>;
  /**
   * Stores a callback's JSON text exactly as the ingress does (its own job writer, the text embedded
   * as `data.event`); returns the job id (derived from its RequestId, like the ingress's).
   */
  storeAsIngress(json: string): Promise<string>;
  /** Processes the stored `vod-events` job with this id. */
  processStored(jobId: string): Promise<EventResult>;
  outcomes(): Promise<OutcomeRecord[]>;
  close(): Promise<void>;
}

export function createProcessorHarness(
  redisUrl: string,
  prefix: string,
  policy?: RetryPolicy,
): ProcessorHarness {
  const redis = createRedis(redisUrl, 'worker', 'test-harness');
  const writers = new JobWriters(redis, { prefix, eventsMaxLen: 1000 });
  const store = new OutcomeStore(redis, {
    prefix,
    dedupeTtlSeconds: 3600,
    outcomesMaxLen: 100_000,
    sourceStateTtlSeconds: 3600,
  });
  const deps: EventProcessorDeps = {
    store,
    uploads: new UploadTracker(redis, { prefix, ttlSeconds: 3600 }),
    budget: new ReuploadBudget(redis, { prefix, ttlSeconds: 3600 }),
    writers,
    classifier: new CodeClassifier(policy),
    metrics: createWorkerMetrics(createRegistry('worker')),
    logger: pino({ level: 'silent' }),
    acceptedEventTypes: new Set(['FileUploadByUrlComplete']),
    unsupportedAction: 'dead_letter',
    maxAttempts: 3,
    backoffBaseMs: 60_000,
    random: () => 1,
  };
  const events = new Queue<EventJobData>(EVENTS_QUEUE, { connection: redis, prefix });
  const deadLetters = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, { connection: redis, prefix });
  const ingressWriter = new EventJobWriter(redis, prefix, {
    jobOptions: eventJobOptions(DEFAULT_JOB_SETTINGS),
    eventsMaxLen: 1000,
  });
  return {
    prefix,
    redis,
    deps,
    events,
    deadLetters,
    async storeAsIngress(json) {
      const jobId = eventJobId(String((JSON.parse(json) as { RequestId: unknown }).RequestId));
      const now = Date.now();
      await ingressWriter.add(jobId, eventJobDataJson(json, now), now);
      return jobId;
    },
    async processStored(jobId) {
      const job = await events.getJob(jobId);
      if (!job) throw new Error(`no vod-events job ${jobId}`);
      return processEvent({ id: job.id, data: job.data as EventJobData }, deps);
    },
    async outcomes() {
      return (await redis.xrange(`${prefix}:outcomes`, '-', '+')).map(([, f]) => outcomeFromFields(f));
    },
    async close() {
      await Promise.allSettled([writers.close(), events.close(), deadLetters.close()]);
      await deletePrefix(redis, prefix);
      redis.disconnect();
    },
  };
}
