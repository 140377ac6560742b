import { stableHash, type UploadSource } from './queues.js';

/** Longest JobId kept as it is in its key name. */
const MAX_KEYED_JOB_ID = 128;

/**
 * Every Redis key this project writes outside BullMQ's own, in one place. All live under the
 * BullMQ prefix, so a Redis Cluster prefix like `{vod}` keeps them in one slot with the queues.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Marker that an event's outcome was recorded (SET, TTL `DEDUPE_TTL_SECONDS`). */
  processed(dedupeKey: string): string {
    return `${this.prefix}:processed:${dedupeKey}`;
  }

  /** Capped stream of outcome records. */
  get outcomes(): string {
    return `${this.prefix}:outcomes`;
  }

  /** Latest state per source (STRING: one JSON object, see source-state.ts), keyed by the source hash. */
  sourceState(sourceKey: string): string {
    return `${this.prefix}:source:${sourceKey}`;
  }

  /** Re-upload budget of a source (HASH: uploads so far, one entry per event granted one; see the worker's reupload-budget.ts). */
  reuploadBudget(sourceKey: string): string {
    return `${this.prefix}:reupload-budget:${sourceKey}`;
  }

  /** JobId → its UploadJobRecord (STRING, JSON), for uploads this system started. */
  uploadJob(jobId: string): string {
    // VOD's JobIds are 32 hex characters; a sender's longer one (up to the body limit) is hashed, so
    // no key name runs to hundreds of kilobytes.
    return jobId.length <= MAX_KEYED_JOB_ID
      ? `${this.prefix}:upload-job:${jobId}`
      : `${this.prefix}:upload-job:#${stableHash('job-id', jobId)}`;
  }

  /** Latest source key per SourceUrl (STRING), so `vodctl status <url>` can find it. */
  sourceByUrl(sourceUrlHash: string): string {
    return `${this.prefix}:source-by-url:${sourceUrlHash}`;
  }

  /** JobIds started by this system and still waiting for their callback (ZSET, score = start ms). */
  get pendingUploads(): string {
    return `${this.prefix}:pending-uploads`;
  }

  /**
   * Outcome notifications not yet delivered nor dead-lettered (ZSET, score = epoch ms the outcome was
   * recorded, member = notification job id): `vod_webhook_oldest_pending_seconds` reads its oldest.
   */
  get pendingNotifications(): string {
    return `${this.prefix}:notifications-pending`;
  }

  /**
   * Redeliveries the ingress collapsed onto an event job BullMQ still holds, not yet counted by a
   * worker (HASH: Data.Code → count; see collapsed-duplicates.ts).
   */
  get collapsedDuplicates(): string {
    return `${this.prefix}:collapsed-duplicates`;
  }
}

/**
 * What is kept per upload JobId (`RedisKeys.uploadJob`): which source and which attempt it was (so
 * its callback continues the count), and for re-uploads when it started and the source itself (the
 * URLSet fields it sent, re-sent as they are if it fails again; QueryUploadTaskInfo does not return
 * CallbackArgs).
 */
export interface UploadJobRecord {
  sourceKey: string;
  attempt: number;
  /** Epoch ms the upload started (uploads this system started). */
  startedAt?: number;
  source?: UploadSource;
  /** Its outcome came from reconciliation: a late real callback for it is a duplicate. */
  reconciled?: boolean;
}

/** Parses a stored upload-job record; undefined for a missing or unreadable one. */
export function parseUploadJobRecord(raw: string | null | undefined): UploadJobRecord | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<UploadJobRecord> | null;
    if (typeof v?.sourceKey !== 'string' || !v.sourceKey || typeof v.attempt !== 'number') return undefined;
    return v as UploadJobRecord;
  } catch {
    return undefined;
  }
}
