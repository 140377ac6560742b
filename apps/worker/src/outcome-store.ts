import {
  type OutcomeRecord,
  outcomeToFields,
  RedisKeys,
  sourceKeyOf,
  stableHash,
  type UploadSource,
} from '@vod-callbacks/shared';
import type { Redis } from 'ioredis';

/** What the store remembers about an upload JobId: which source and which attempt it was. */
export interface UploadJobInfo {
  sourceKey: string;
  attempt: number;
  /** Epoch ms the upload started (uploads this system started). */
  startedAt?: number;
  /** The source, kept for reconciliation: QueryUploadTaskInfo does not return CallbackArgs. */
  source?: UploadSource;
  /** Its outcome came from reconciliation: a late real callback for it is a duplicate. */
  reconciled?: boolean;
}

// One script = one atomic step: the processed marker, the outcome record, the latest source state,
// the JobId mapping and the pending-upload entry change together or not at all. A worker killed
// before it runs leaves nothing; a retried job then finds no marker and records once.
const RECORD_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = tonumber(ARGV[6])
local fields = {}
for i = 1, n do fields[i] = ARGV[6 + i] end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
if ARGV[4] ~= '' then
  redis.call('DEL', KEYS[3])
  redis.call('HSET', KEYS[3], 'sourceKey', ARGV[4], 'outcomeId', id, unpack(fields))
  redis.call('EXPIRE', KEYS[3], ARGV[3])
  redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[3])
  redis.call('SET', KEYS[5], ARGV[5], 'EX', ARGV[3])
  redis.call('ZREM', KEYS[6], ARGV[7 + n])
end
redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
return 1
`;

/** Settings of the store. */
export interface OutcomeStoreOptions {
  prefix: string;
  dedupeTtlSeconds: number;
  outcomesMaxLen: number;
  sourceStateTtlSeconds: number;
}

/** Reads and writes everything the worker keeps besides BullMQ jobs. */
export class OutcomeStore {
  readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    private readonly options: OutcomeStoreOptions,
  ) {
    this.keys = new RedisKeys(options.prefix);
    if (!('recordOutcome' in redis)) {
      redis.defineCommand('recordOutcome', { numberOfKeys: 6, lua: RECORD_SCRIPT });
    }
  }

  /** True when an outcome was already recorded under this dedupe key. */
  async isProcessed(dedupeKey: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.processed(dedupeKey))) === 1;
  }

  /** Which attempt a JobId was, when this system knows it. */
  async uploadJob(jobId: string): Promise<UploadJobInfo | undefined> {
    return parseUploadJob(await this.redis.get(this.keys.uploadJob(jobId)));
  }

  /**
   * `isProcessed` and `uploadJob` in one round trip (both keys are strings, so one MGET): the
   * event processor needs both for every event.
   */
  async lookup(dedupeKey: string, jobId: string): Promise<{ processed: boolean; upload?: UploadJobInfo }> {
    const [marker, upload] = await this.redis.mget(
      this.keys.processed(dedupeKey),
      this.keys.uploadJob(jobId),
    );
    return { processed: marker !== null, upload: parseUploadJob(upload ?? null) };
  }

  /**
   * Records the outcome and marks `dedupeKey` processed, atomically. Returns false when the key
   * was already processed (a duplicate that raced past the first check): nothing was written.
   */
  async record(dedupeKey: string, outcome: OutcomeRecord): Promise<boolean> {
    // An event without a usable source (invalid payload) gets an outcome record but no source state.
    const sourceKey = outcome.spaceName && outcome.sourceUrl ? sourceKeyOf(outcome) : '';
    const fields = outcomeToFields(outcome);
    const jobInfo: UploadJobInfo = { sourceKey, attempt: outcome.attempt };
    if (outcome.origin === 'reconcile') jobInfo.reconciled = true;
    const written = await (
      this.redis as Redis & { recordOutcome: (...args: (string | number)[]) => Promise<number> }
    ).recordOutcome(
      this.keys.processed(dedupeKey),
      this.keys.outcomes,
      this.keys.sourceState(sourceKey),
      this.keys.sourceByUrl(stableHash(outcome.sourceUrl)),
      this.keys.uploadJob(outcome.jobId || 'none'),
      this.keys.pendingUploads,
      this.options.dedupeTtlSeconds,
      this.options.outcomesMaxLen,
      this.options.sourceStateTtlSeconds,
      sourceKey,
      JSON.stringify(jobInfo),
      fields.length,
      ...fields,
      outcome.jobId,
    );
    return written === 1;
  }

  /**
   * Remembers a JobId this system started (a re-upload): its source and attempt, and that its
   * callback is pending since `startedAt` (for reconciliation).
   */
  async trackUpload(jobId: string, info: UploadJobInfo, startedAt: number): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.uploadJob(jobId), JSON.stringify(info), 'EX', this.options.sourceStateTtlSeconds)
      .zadd(this.keys.pendingUploads, startedAt, jobId)
      .exec();
  }

  /**
   * True when a callback for this JobId was already recorded: the mapping exists but the JobId is
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

function parseUploadJob(raw: string | null): UploadJobInfo | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as UploadJobInfo;
  } catch {
    return undefined;
  }
}
