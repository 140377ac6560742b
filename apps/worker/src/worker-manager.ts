import {
  closeAll,
  EVENTS_QUEUE,
  type EventJobData,
  NOTIFICATIONS_QUEUE,
  type NotificationJobData,
  openQueue,
  type RateLimit,
  REUPLOADS_QUEUE,
  type RedisClient,
  RedisKeys,
  type ReuploadJobData,
  type WorkerMetrics,
  webhookRetryDelayMs,
} from '@vod-callbacks/shared';
import { type Job, type Processor, Worker, type WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { JobWriters } from './job-writers.js';
import type { OutcomeStore } from './outcome-store.js';
import {
  deadLetterOutcomeOf,
  dedupeKeyOf,
  envelopeOf,
  fieldsOf,
  parsedEventOf,
} from './processors/event-input.js';
import { type EventProcessorDeps, type EventResult, processEvent } from './processors/event-processor.js';
import {
  type NotificationProcessorDeps,
  type NotificationResult,
  processNotification,
  WebhookRetryError,
} from './processors/notification-processor.js';
import {
  processReupload,
  type ReuploadProcessorDeps,
  type ReuploadResult,
} from './processors/reupload-processor.js';
import { closeWhenIdle, trackJobsInFlight } from './worker-close.js';

/** Settings shared by every BullMQ worker of the process. */
export interface WorkerManagerOptions {
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  lockDurationMs: number;
  keepCompleted: number;
  /** Test hook: sleep inside each event job. */
  processingDelayMs: number;
  /** Test hook: sleep before processing, or after the outcome is recorded but before the job completes. */
  processingDelayAt?: 'before' | 'after';
}

/**
 * Registers every processor with BullMQ and wraps it with timing, logging and the last-resort dead
 * letter (a job that failed all its attempts is never dropped silently). Owns the Worker objects.
 */
export class WorkerManager {
  private readonly workers: Worker[] = [];
  /** Each worker's jobs in flight, for its close (see closeWhenIdle). */
  private readonly inFlight = new Map<Worker, ReadonlySet<string>>();

  constructor(
    private readonly options: WorkerManagerOptions,
    private readonly metrics: WorkerMetrics,
    private readonly writers: JobWriters,
    private readonly logger: Logger,
    /** Records the outcome of an event job that failed for good (unless it already has one). */
    private readonly store: OutcomeStore,
  ) {}

  /** Starts consuming `vod-events`. */
  startEventWorker(deps: EventProcessorDeps): Worker<EventJobData, EventResult> {
    const delay = this.options.processingDelayMs;
    const after = this.options.processingDelayAt === 'after';
    const sleep = () => new Promise((r) => setTimeout(r, delay));
    const processor: Processor<EventJobData, EventResult> = async (job) => {
      const end = this.metrics.processingSeconds.startTimer();
      try {
        if (delay > 0 && !after) await sleep();
        const result = await processEvent(job, deps);
        if (delay > 0 && after) await sleep();
        return result;
      } finally {
        end();
      }
    };
    return this.register(EVENTS_QUEUE, processor, this.options.concurrency);
  }

  /**
   * Starts consuming `vod-reuploads`. BullMQ's limiter is global per queue, so `limiter` bounds the
   * re-uploads of this shard started across all worker processes (a batched call carries several);
   * with event shards each gets its share of REUPLOAD_RATE_PER_SECOND (`shardShareOfRate`).
   */
  startReuploadWorker(
    deps: ReuploadProcessorDeps,
    concurrency: number,
    limiter: RateLimit,
  ): Worker<ReuploadJobData, ReuploadResult> {
    const processor: Processor<ReuploadJobData, ReuploadResult> = (job) => processReupload(job, deps);
    return this.register(REUPLOADS_QUEUE, processor, concurrency, { limiter });
  }

  /**
   * Starts consuming `vod-notifications`: the destination's concurrency is global (BullMQ's queue
   * concurrency, shared by every worker process) and so is the rate limit (with event shards, this
   * shard's share of each). Retry delays come from the backoff schedule, never shorter than the
   * receiver's Retry-After.
   */
  async startNotificationWorker(
    deps: NotificationProcessorDeps,
    settings: { concurrency: number; limiter: RateLimit; backoffMs: number; backoffMaxMs: number },
  ): Promise<Worker<NotificationJobData, NotificationResult>> {
    const queue = openQueue(NOTIFICATIONS_QUEUE, {
      connection: this.options.connection,
      prefix: this.options.prefix,
    });
    try {
      await queue.setGlobalConcurrency(settings.concurrency);
    } finally {
      await queue.close();
    }
    const processor: Processor<NotificationJobData, NotificationResult> = (job) =>
      processNotification(job, deps);
    return this.register(NOTIFICATIONS_QUEUE, processor, settings.concurrency, {
      limiter: settings.limiter,
      settings: {
        backoffStrategy: (retry, _type, err) =>
          webhookRetryDelayMs(
            retry,
            settings.backoffMs,
            settings.backoffMaxMs,
            err instanceof WebhookRetryError ? err.retryAfterMs : undefined,
          ),
      },
    });
  }

  /** Registers a processor on `queueName` with the shared options and failure handling. */
  register<D, R>(
    queueName: string,
    processor: Processor<D, R>,
    concurrency: number,
    extra: Partial<WorkerOptions> = {},
  ): Worker<D, R> {
    const worker = new Worker<D, R>(queueName, processor, {
      connection: this.options.connection,
      prefix: this.options.prefix,
      concurrency,
      lockDuration: this.options.lockDurationMs,
      // BullMQ looks for stalled jobs every 30 s by default, whatever the lock: check as often as a
      // lock can expire, so a killed worker's job is picked up after about WORKER_LOCK_MS (as documented).
      stalledInterval: this.options.lockDurationMs,
      // A job whose worker died is picked up again; only a job that keeps killing workers fails.
      maxStalledCount: 5,
      removeOnComplete: { count: this.options.keepCompleted },
      removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
      ...extra,
    });
    worker.on('error', (err) => this.logger.error({ err, queue: queueName }, 'worker error'));
    worker.on('failed', (job, err) => void this.onFailed(queueName, job, err));
    this.workers.push(worker as unknown as Worker);
    this.inFlight.set(worker as unknown as Worker, trackJobsInFlight(worker as unknown as Worker));
    return worker;
  }

  private async onFailed(queueName: string, job: Job | undefined, err: Error): Promise<void> {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    const final = job.attemptsMade >= attempts || err.name === 'UnrecoverableError';
    this.logger[final ? 'error' : 'warn'](
      { queue: queueName, jobId: job.id, attemptsMade: job.attemptsMade, err: err.message },
      final ? 'job failed for good; dead-lettering' : 'job failed; will retry',
    );
    if (!final) return;
    try {
      await this.writers.deadLetter(`failed:${queueName}:${job.id}`, {
        reason: 'processing_error',
        detail: `${queueName} job ${job.id} failed ${job.attemptsMade} times: ${err.message}`.slice(0, 2000),
        body: queueName === EVENTS_QUEUE ? await this.writers.eventBody(job as Job<EventJobData>) : undefined,
        reupload: queueName === REUPLOADS_QUEUE ? (job.data as never) : undefined,
        notification: queueName === NOTIFICATIONS_QUEUE ? (job.data as never) : undefined,
        deadLetteredAt: Date.now(),
      });
      this.metrics.deadLetters.inc({ reason: 'processing_error' });
      if (queueName === EVENTS_QUEUE) await this.recordFailedEvent(job as Job<EventJobData>);
      if (queueName === NOTIFICATIONS_QUEUE && job.id) {
        await this.options.connection.zrem(new RedisKeys(this.options.prefix).pendingNotifications, job.id);
      }
    } catch (dlErr) {
      this.logger.error(
        { err: dlErr, jobId: job.id },
        'could not dead-letter a failed job; it stays in the failed set',
      );
    }
  }

  /**
   * The last line of "exactly one outcome per callback": an event job that failed all its attempts
   * gets the outcome `dead_lettered` (reason processing_error) under its RequestId, unless its
   * processing recorded one before it failed (the record is skipped then, by the processed marker).
   */
  private async recordFailedEvent(job: Job<EventJobData>): Promise<void> {
    const parsed = parsedEventOf(job.data);
    const requestId = envelopeOf(parsed).requestId ?? `job:${job.id ?? 'unknown'}`;
    const outcome = deadLetterOutcomeOf(requestId, fieldsOf(parsed), 'unknown', job.data, Date.now());
    outcome.reason = 'processing_error';
    await this.store.record(dedupeKeyOf(requestId, job.data), outcome);
  }

  /** True when every worker is running and its connection is ready. */
  isRunning(): boolean {
    return this.workers.length > 0 && this.workers.every((w) => w.isRunning());
  }

  /**
   * Stops taking jobs and waits for running ones to finish (BullMQ's close, no longer than the jobs
   * plus a grace: see closeWhenIdle). Jobs still locked after a hard kill are recovered by the
   * stalled-job check of the remaining workers.
   */
  async close(): Promise<void> {
    await closeAll(
      Object.fromEntries(
        this.workers.map((w) => [
          `${w.name} worker`,
          async () => {
            if ((await closeWhenIdle(w, this.inFlight.get(w) ?? new Set())) === 'abandoned')
              this.logger.warn(
                { queue: w.name, prefix: this.options.prefix },
                'BullMQ worker still closing with no job in flight; shutting down without waiting for it (its Redis Cluster blocking connection did not end)',
              );
          },
        ]),
      ),
    );
  }
}
