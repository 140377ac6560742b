import {
  parseUploadJobRecord,
  type RedisClient,
  RedisKeys,
  type UploadJobRecord,
} from '@vod-callbacks/shared';

/** Settings of the tracker. */
export interface UploadTrackerOptions {
  prefix: string;
  /** How long an upload record is kept (SOURCE_STATE_TTL_SECONDS, as the record script keeps it). */
  ttlSeconds: number;
}

/**
 * The uploads this system started and what reconciliation needs of them: the JobId → source and
 * attempt record, and the pending set (JobIds still waiting for their callback, scored by when
 * they were last looked at). The outcome record script ends an upload's pending state in the same
 * step as its outcome (OutcomeStore); everything else about pending uploads is here.
 */
export class UploadTracker {
  readonly keys: RedisKeys;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: UploadTrackerOptions,
  ) {
    this.keys = new RedisKeys(options.prefix);
  }

  /**
   * Remembers a JobId this system started (a re-upload): its source and attempt, and that its
   * callback is pending since `startedAt` (for reconciliation).
   */
  async track(jobId: string, info: UploadJobRecord, startedAt: number): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.uploadJob(jobId), JSON.stringify(info), 'EX', this.options.ttlSeconds)
      .zadd(this.keys.pendingUploads, startedAt, jobId)
      .exec();
  }

  /** What is known of a JobId, when this system started it or recorded its callback. */
  async get(jobId: string): Promise<UploadJobRecord | undefined> {
    return parseUploadJobRecord(await this.redis.get(this.keys.uploadJob(jobId)));
  }

  /**
   * True when a callback for this JobId was already recorded: the record exists but the JobId is
   * no longer pending. A reconciled event for it is then a duplicate of that callback.
   */
  async settledByCallback(jobId: string): Promise<boolean> {
    const [exists, score] = await Promise.all([
      this.redis.exists(this.keys.uploadJob(jobId)),
      this.redis.zscore(this.keys.pendingUploads, jobId),
    ]);
    return exists === 1 && score === null;
  }

  /** Pending JobIds last looked at (or started) before `cutoffMs`, oldest first. */
  async duePending(cutoffMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.pendingUploads, '-inf', cutoffMs, 'LIMIT', 0, limit);
  }

  /** Moves still-pending JobIds to `atMs` (looked at again later); ones already settled stay gone. */
  async touchPending(jobIds: readonly string[], atMs: number): Promise<void> {
    if (jobIds.length === 0) return;
    const args = jobIds.flatMap((id) => [atMs, id]);
    await this.redis.zadd(this.keys.pendingUploads, 'XX', ...(args as [number, string]));
  }

  /** Forgets pending JobIds (VOD does not know them and will not send their callback). */
  async dropPending(jobIds: readonly string[]): Promise<void> {
    if (jobIds.length > 0) await this.redis.zrem(this.keys.pendingUploads, ...jobIds);
  }
}
