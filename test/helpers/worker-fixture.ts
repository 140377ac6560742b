import {
  CodeClassifier,
  createRedis,
  createRegistry,
  createWorkerMetrics,
  isCluster,
} from '@vod-callbacks/shared';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import type { VodApi } from '@vod-callbacks/vod-client';
import type { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { JobWriters } from '../../apps/worker/src/job-writers.js';
import { OutcomeStore, type OutcomeStoreOptions } from '../../apps/worker/src/outcome-store.js';
import type { EventProcessorDeps } from '../../apps/worker/src/processors/event-processor.js';
import type { ReuploadProcessorDeps } from '../../apps/worker/src/processors/reupload-processor.js';
import { ReuploadBudget } from '../../apps/worker/src/reupload-budget.js';
import { UploadBatcher } from '../../apps/worker/src/upload-batcher.js';
import { UploadTracker } from '../../apps/worker/src/upload-tracker.js';

/**
 * The worker's Redis-backed parts as its main wires them, on one connection to a real Redis under
 * one prefix (TTLs of an hour, a silent logger), for calling processors without a BullMQ Worker.
 */
export interface WorkerFixture {
  prefix: string;
  redis: Redis;
  writers: JobWriters;
  store: OutcomeStore;
  uploads: UploadTracker;
  budget: ReuploadBudget;
  /** Where `metrics` are registered; `counter` reads it. */
  registry: ReturnType<typeof createRegistry>;
  metrics: ReturnType<typeof createWorkerMetrics>;
  logger: Logger;
  /**
   * The event processor's deps on these parts: FileUploadByUrlComplete accepted and other types
   * dead-lettered, 3 attempts, a 1 s backoff base; `over` replaces any of them.
   */
  eventDeps(over?: Partial<EventProcessorDeps>): EventProcessorDeps;
  /** The re-upload processor's deps on these parts, uploading through `api` in 5 ms batches. */
  reuploadDeps(api: VodApi): ReuploadProcessorDeps;
  /** The sum of the values of metric `name` whose labels include `labels`. */
  counter(name: string, labels?: Record<string, string>): Promise<number>;
  /** Closes the writers, deletes every key under the prefix and disconnects. */
  close(): Promise<void>;
}

/** Store options besides the prefix (default: 1 h TTLs, the last 100,000 outcomes kept). */
export type FixtureStoreOptions = Partial<Omit<OutcomeStoreOptions, 'prefix'>>;

/** `createWorkerFixture` on the tests' Redis (`testRedisUrl`), under a fresh prefix named by `label`. */
export function workerFixture(label: string, storeOptions: FixtureStoreOptions = {}): WorkerFixture {
  return createWorkerFixture(testRedisUrl(), uniquePrefix(label), storeOptions);
}

export function createWorkerFixture(
  redisUrl: string,
  prefix: string,
  storeOptions: FixtureStoreOptions = {},
): WorkerFixture {
  const redis = createRedis(redisUrl, 'worker', 'test');
  if (isCluster(redis))
    throw new Error(`the worker fixture takes one Redis server's URL, not a cluster: ${redisUrl}`);
  const writers = new JobWriters(redis, { prefix, eventsMaxLen: 1000 });
  const store = new OutcomeStore(redis, {
    prefix,
    dedupeTtlSeconds: 3600,
    outcomesMaxLen: 100_000,
    sourceStateTtlSeconds: 3600,
    ...storeOptions,
  });
  const uploads = new UploadTracker(redis, { prefix, ttlSeconds: 3600 });
  const budget = new ReuploadBudget(redis, { prefix, ttlSeconds: 3600 });
  const registry = createRegistry('worker');
  const metrics = createWorkerMetrics(registry);
  const logger = pino({ level: 'silent' });
  return {
    prefix,
    redis,
    writers,
    store,
    uploads,
    budget,
    registry,
    metrics,
    logger,
    eventDeps: (over = {}) => ({
      store,
      uploads,
      budget,
      writers,
      classifier: new CodeClassifier(),
      metrics,
      logger,
      acceptedEventTypes: new Set(['FileUploadByUrlComplete']),
      unsupportedAction: 'dead_letter',
      maxAttempts: 3,
      backoffBaseMs: 1000,
      ...over,
    }),
    reuploadDeps: (api) => ({
      batcher: new UploadBatcher(api, { waitMs: 5 }),
      store,
      uploads,
      writers,
      metrics,
      logger,
    }),
    async counter(name, labels = {}) {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
      const values = (metric?.values ?? []) as { labels: Record<string, string | number>; value: number }[];
      return values
        .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
        .reduce((sum, v) => sum + v.value, 0);
    },
    async close() {
      await writers.close();
      await deletePrefix(redis, prefix);
      redis.disconnect();
    },
  };
}
