import {
  DEAD_LETTER_JOB_NAME,
  DEAD_LETTERS_QUEUE,
  type DeadLetterJobData,
  EVENTS_QUEUE,
  type EventJobData,
  embeddedEventText,
  eventBodyOf,
  REUPLOAD_JOB_NAME,
  REUPLOADS_QUEUE,
  type ReuploadJobData,
  stableHash,
} from '@vod-callbacks/shared';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export interface JobWritersOptions {
  prefix: string;
  eventsMaxLen: number;
  /** Tries of a re-upload whose API call fails retryably (REUPLOAD_API_ATTEMPTS, default 8). */
  reuploadAttempts?: number;
  /** Base of the exponential delay between those tries (REUPLOAD_API_BACKOFF_MS, default 2000). */
  reuploadBackoffMs?: number;
}

// Job ids derive from the event's dedupe key, so a job retried after a crash re-adds the same id
// (a no-op) instead of a second re-upload or dead letter. Completed re-upload jobs are kept for a
// day so the id is still known while the event job could be retried.
const KEEP_REUPLOADS = { age: 24 * 3600, count: 100_000 };

/** Adds re-upload jobs and dead letters; used by every processor of the worker. */
export class JobWriters {
  readonly reuploads: Queue<ReuploadJobData>;
  readonly deadLetters: Queue<DeadLetterJobData>;

  constructor(
    private readonly connection: Redis,
    private readonly options: JobWritersOptions,
  ) {
    const common = {
      connection,
      prefix: options.prefix,
      streams: { events: { maxLen: options.eventsMaxLen } },
    };
    this.reuploads = new Queue<ReuploadJobData>(REUPLOADS_QUEUE, {
      ...common,
      defaultJobOptions: {
        removeOnComplete: KEEP_REUPLOADS,
        removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
      },
    });
    this.deadLetters = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, {
      ...common,
      // Dead letters wait for a person (`vodctl dlq`); nothing consumes them.
      defaultJobOptions: { removeOnComplete: true, removeOnFail: false },
    });
  }

  /** Schedules a re-upload after `delayMs`; idempotent per `dedupeKey`. */
  async scheduleReupload(dedupeKey: string, data: ReuploadJobData, delayMs: number): Promise<void> {
    await this.reuploads.add(REUPLOAD_JOB_NAME, data, {
      jobId: `ru-${stableHash(dedupeKey)}`,
      delay: delayMs,
      // Network/throttling errors of the API call are retried by BullMQ; see the re-upload processor.
      attempts: this.options.reuploadAttempts ?? 8,
      backoff: { type: 'exponential', delay: this.options.reuploadBackoffMs ?? 2000 },
    });
  }

  /** Writes a dead letter; idempotent per `dedupeKey`. Returns the dead letter's job id. */
  async deadLetter(dedupeKey: string, data: DeadLetterJobData): Promise<string> {
    const jobId = `dl-${stableHash(dedupeKey)}`;
    await this.deadLetters.add(DEAD_LETTER_JOB_NAME, data, { jobId });
    return jobId;
  }

  /**
   * The callback's JSON text of an event job, for its dead letter: exactly as received. A job that
   * holds the event embedded (from the ingress) is read back from its stored data, where the ingress
   * wrote the text verbatim; failing that, the parsed event is serialised again.
   */
  async eventBody(job: { id?: string; data: Partial<EventJobData> }): Promise<string | undefined> {
    if (typeof job.data.body === 'string') return job.data.body;
    if (job.id) {
      const stored = await this.connection.hget(`${this.options.prefix}:${EVENTS_QUEUE}:${job.id}`, 'data');
      const text = stored === null ? undefined : embeddedEventText(stored);
      if (text !== undefined) return text;
    }
    return eventBodyOf(job.data);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.reuploads.close(), this.deadLetters.close()]);
  }
}
