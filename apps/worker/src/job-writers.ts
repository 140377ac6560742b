import {
  closeAll,
  DEAD_LETTER_JOB_NAME,
  DEAD_LETTER_JOB_OPTIONS,
  DEAD_LETTERS_QUEUE,
  DEFAULT_JOB_SETTINGS,
  type DeadLetterJobData,
  EVENTS_QUEUE,
  type EventJobData,
  embeddedEventText,
  eventBodyOf,
  openQueue,
  REUPLOAD_JOB_NAME,
  REUPLOADS_QUEUE,
  type RedisClient,
  type ReuploadJobData,
  type ReuploadJobSettings,
  readStoredJobData,
  reuploadJobOptions,
  stableHash,
} from '@vod-callbacks/shared';
import type { Queue } from 'bullmq';

export interface JobWritersOptions {
  prefix: string;
  eventsMaxLen: number;
  /** REUPLOAD_API_ATTEMPTS and REUPLOAD_API_BACKOFF_MS (their defaults when left out). */
  reuploadJobs?: ReuploadJobSettings;
}

// Job ids derive from the event's dedupe key, so a job retried after a crash re-adds the same id
// (a no-op) instead of a second re-upload or dead letter.

/** Job id of the re-upload scheduled for the event recorded under `dedupeKey`. */
export function reuploadJobIdOf(dedupeKey: string): string {
  return `ru-${stableHash(dedupeKey)}`;
}

/** Adds re-upload jobs and dead letters; used by every processor of the worker. */
export class JobWriters {
  readonly reuploads: Queue<ReuploadJobData>;
  readonly deadLetters: Queue<DeadLetterJobData>;

  constructor(
    private readonly connection: RedisClient,
    private readonly options: JobWritersOptions,
  ) {
    const common = {
      connection,
      prefix: options.prefix,
      streams: { events: { maxLen: options.eventsMaxLen } },
    };
    this.reuploads = openQueue<ReuploadJobData>(REUPLOADS_QUEUE, {
      ...common,
      defaultJobOptions: reuploadJobOptions(options.reuploadJobs ?? DEFAULT_JOB_SETTINGS),
    });
    this.deadLetters = openQueue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, {
      ...common,
      defaultJobOptions: DEAD_LETTER_JOB_OPTIONS,
    });
  }

  /** Schedules a re-upload after `delayMs`; idempotent per `dedupeKey`. */
  async scheduleReupload(dedupeKey: string, data: ReuploadJobData, delayMs: number): Promise<void> {
    await this.reuploads.add(REUPLOAD_JOB_NAME, data, {
      jobId: reuploadJobIdOf(dedupeKey),
      delay: delayMs,
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
      const stored = await readStoredJobData(this.connection, this.options.prefix, EVENTS_QUEUE, job.id);
      const text = stored === null ? undefined : embeddedEventText(stored);
      if (text !== undefined) return text;
    }
    return eventBodyOf(job.data);
  }

  async close(): Promise<void> {
    await closeAll({
      'vod-reuploads queue': () => this.reuploads.close(),
      'vod-dead-letters queue': () => this.deadLetters.close(),
    });
  }
}
