import {
  type BatchScript,
  type OutcomeRecord,
  outcomeToFields,
  RedisKeys,
  ScriptBatch,
  sourceKeyOf,
  sourceStateJson,
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

// One atomic step per event: the processed marker, the outcome record, the latest source state, the
// JobId mapping and the pending-upload entry change together or not at all. A worker killed before
// it runs leaves nothing; a retried job then finds no marker and records once. Every record of one
// event-loop turn goes in one call (ScriptBatch): KEYS are the outcomes stream and the pending
// uploads; ARGV holds the TTLs and cap, then per event its four keys, JobId, source key, mode,
// reconciled flag, source state (JSON without outcomeId and attempt, see sourceStateJson), the
// index of the attempt value among its fields, the field count and the fields. The per-event keys
// travel in ARGV because their number varies; under a `{…}` prefix they share the declared keys'
// cluster slot, as BullMQ's own scripts assume for job keys.
// Mode 'given' records the attempt as sent. Mode 'mapping' takes it from the JobId mapping (1 when
// there is none), which saves the worker a lookup round trip when the decision does not depend on
// it; 'mapping-strict' also answers -1 (nothing written) when that mapping says reconciliation
// already recorded the JobId's outcome. Replies per event: the attempt recorded, or 0 for a
// duplicate (already processed).
const RECORD_SCRIPT = `
local replies = {}
local i = 4
while i <= #ARGV do
  local processedKey, stateKey, byUrlKey, uploadKey = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local jobId, sourceKey, mode, reconciled = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local state, attemptAt, n = ARGV[i + 8], tonumber(ARGV[i + 9]), tonumber(ARGV[i + 10])
  local fields = {}
  for j = 1, n do fields[j] = ARGV[i + 10 + j] end
  i = i + 11 + n
  local reply
  if redis.call('EXISTS', processedKey) == 1 then
    reply = 0
  else
    local attempt = tonumber(fields[attemptAt])
    if mode ~= 'given' then
      attempt = 1
      local raw = redis.call('GET', uploadKey)
      if raw then
        local ok, info = pcall(cjson.decode, raw)
        if ok and type(info) == 'table' then
          attempt = tonumber(info.attempt) or 1
          if mode == 'mapping-strict' and info.reconciled == true then reply = -1 end
        end
      end
      fields[attemptAt] = tostring(attempt)
    end
    if not reply then
      local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
      if sourceKey ~= '' then
        local info = { sourceKey = sourceKey, attempt = attempt }
        if reconciled == '1' then info.reconciled = true end
        state = '{"outcomeId":"' .. id .. '","attempt":"' .. attempt .. '",' .. string.sub(state, 2)
        redis.call('SET', stateKey, state, 'EX', ARGV[3])
        redis.call('SET', byUrlKey, sourceKey, 'EX', ARGV[3])
        if jobId ~= '' then
          redis.call('SET', uploadKey, cjson.encode(info), 'EX', ARGV[3])
          redis.call('ZREM', KEYS[2], jobId)
        end
      end
      redis.call('SET', processedKey, id, 'EX', ARGV[1])
      reply = attempt
    end
  end
  replies[#replies + 1] = reply
end
return replies
`;

/** Most records per script call; a larger turn is split. */
const MAX_RECORD_BATCH = 128;

/** Where the recorded attempt number comes from; see RECORD_SCRIPT. */
export type AttemptSource = 'given' | 'mapping' | 'mapping-strict';

/** What `record` did: the outcome was written (with this attempt), or nothing was written and why. */
export type RecordResult =
  | { written: true; attempt: number }
  | { written: false; why: 'duplicate' | 'superseded_by_reconciliation' };

function recordResultOf(reply: unknown): RecordResult {
  const n = Number(reply);
  if (n > 0) return { written: true, attempt: n };
  return { written: false, why: n === -1 ? 'superseded_by_reconciliation' : 'duplicate' };
}

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
  private readonly records: ScriptBatch<RecordResult>;

  constructor(
    private readonly redis: Redis,
    private readonly options: OutcomeStoreOptions,
  ) {
    this.keys = new RedisKeys(options.prefix);
    if (!('vodRecordOutcomes' in redis)) {
      redis.defineCommand('vodRecordOutcomes', { numberOfKeys: 2, lua: RECORD_SCRIPT });
    }
    const script = (redis as unknown as { vodRecordOutcomes: BatchScript }).vodRecordOutcomes.bind(redis);
    this.records = new ScriptBatch(
      script,
      [
        this.keys.outcomes,
        this.keys.pendingUploads,
        String(options.dedupeTtlSeconds),
        String(options.outcomesMaxLen),
        String(options.sourceStateTtlSeconds),
      ],
      recordResultOf,
      MAX_RECORD_BATCH,
    );
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
   * `isProcessed` and `uploadJob` in one round trip (both keys are strings, so one MGET): what the
   * event processor needs before deciding on a code whose decision depends on the attempt.
   */
  async lookup(dedupeKey: string, jobId: string): Promise<{ processed: boolean; upload?: UploadJobInfo }> {
    const [marker, upload] = await this.redis.mget(
      this.keys.processed(dedupeKey),
      this.keys.uploadJob(jobId),
    );
    return { processed: marker !== null, upload: parseUploadJob(upload ?? null) };
  }

  /**
   * Records the outcome and marks `dedupeKey` processed, atomically. Nothing is written when the key
   * was already processed (a duplicate that raced past the first check), nor, with
   * `attemptFrom: 'mapping-strict'`, when reconciliation already recorded the JobId's outcome.
   * With a `mapping` source the attempt in `outcome` is replaced by the one the JobId mapping holds.
   */
  record(
    dedupeKey: string,
    outcome: OutcomeRecord,
    attemptFrom: AttemptSource = 'given',
  ): Promise<RecordResult> {
    // An event without a usable source (invalid payload) gets an outcome record but no source state.
    const sourceKey = outcome.spaceName && outcome.sourceUrl ? sourceKeyOf(outcome) : '';
    const fields = outcomeToFields(outcome);
    return this.records.add([
      this.keys.processed(dedupeKey),
      this.keys.sourceState(sourceKey),
      this.keys.sourceByUrl(stableHash(outcome.sourceUrl)),
      this.keys.uploadJob(outcome.jobId || 'none'),
      outcome.jobId,
      sourceKey,
      attemptFrom,
      outcome.origin === 'reconcile' ? '1' : '0',
      sourceKey ? sourceStateJson(sourceKey, fields) : '',
      String(fields.indexOf('attempt') + 2),
      String(fields.length),
      ...fields,
    ]);
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
