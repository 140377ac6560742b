import {
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
  REUPLOADS_QUEUE,
  type ReuploadJobData,
} from '@vod-callbacks/shared';
import { Queue } from 'bullmq';
import { EventJobWriter } from '../../apps/ingress/src/event-job-writer.js';
import {
  type EventProcessorDeps,
  type EventResult,
  processEvent,
} from '../../apps/worker/src/processors/event-processor.js';
import { createWorkerFixture, type WorkerFixture } from './worker-fixture.js';

/**
 * The worker's real event processor wired to a real Redis under one prefix, without a BullMQ
 * Worker: tests store jobs the way the ingress or `vodctl` does and process them one by one.
 */
export interface ProcessorHarness extends WorkerFixture {
  deps: EventProcessorDeps;
  events: Queue<EventJobData>;
  /** Where the processor schedules re-uploads. */
  reuploads: Queue<ReuploadJobData>;
  deadLetters: Queue<DeadLetterJobData>;
  /**
   * Stores a callback's JSON text exactly as the ingress does (its own job writer, the text embedded
   * as `data.event`); returns the job id (derived from its RequestId, like the ingress's).
   */
  storeAsIngress(json: string): Promise<string>;
  /** The stored `vod-events` job with this id, as a worker gets it. */
  storedJob(jobId: string): Promise<{ id: string; data: EventJobData }>;
  /** Processes the stored `vod-events` job with this id. */
  processStored(jobId: string): Promise<EventResult>;
  outcomes(): Promise<OutcomeRecord[]>;
}

/** A harness whose event processor has a 60 s backoff base and no jitter; `over` changes any dep. */
export function createProcessorHarness(
  redisUrl: string,
  prefix: string,
  over: Partial<EventProcessorDeps> = {},
): ProcessorHarness {
  const fixture = createWorkerFixture(redisUrl, prefix);
  const { redis } = fixture;
  const deps = fixture.eventDeps({ backoffBaseMs: 60_000, random: () => 1, ...over });
  const events = new Queue<EventJobData>(EVENTS_QUEUE, { connection: redis, prefix });
  const reuploads = new Queue<ReuploadJobData>(REUPLOADS_QUEUE, { connection: redis, prefix });
  const deadLetters = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, { connection: redis, prefix });
  const ingressWriter = new EventJobWriter(redis, prefix, {
    jobOptions: eventJobOptions(DEFAULT_JOB_SETTINGS),
    eventsMaxLen: 1000,
  });
  const storedJob = async (jobId: string) => {
    const job = await events.getJob(jobId);
    if (!job?.id) throw new Error(`no vod-events job ${jobId}`);
    return { id: job.id, data: job.data };
  };
  return {
    ...fixture,
    deps,
    events,
    reuploads,
    deadLetters,
    async storeAsIngress(json) {
      const jobId = eventJobId(String((JSON.parse(json) as { RequestId: unknown }).RequestId));
      const now = Date.now();
      await ingressWriter.add(jobId, eventJobDataJson(json, now), now);
      return jobId;
    },
    storedJob,
    async processStored(jobId) {
      return processEvent(await storedJob(jobId), deps);
    },
    async outcomes() {
      return (await redis.xrange(`${prefix}:outcomes`, '-', '+')).map(([, f]) => outcomeFromFields(f));
    },
    async close() {
      await Promise.allSettled([events.close(), reuploads.close(), deadLetters.close()]);
      await fixture.close();
    },
  };
}
