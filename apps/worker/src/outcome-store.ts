import {
  type BatchScript,
  type Decision,
  jobOptionsJson,
  LUA_BULLMQ_ADD_JOB,
  NOTIFICATION_JOB_NAME,
  NOTIFICATIONS_QUEUE,
  notificationJobIdOf,
  type OutcomeRecord,
  outcomeToFields,
  queueKeys,
  RedisKeys,
  ScriptBatch,
  sourceKeyOf,
  sourceStateJson,
  stableHash,
  type UploadSource,
  webhookIdOf,
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
// JobId mapping, the pending-upload entry and the outcome's notification job (when webhooks are on
// for its decision) change together or not at all: no outcome without its notification. A worker killed before
// it runs leaves nothing; a retried job then finds no marker and records once. Every record of one
// event-loop turn goes in one call (ScriptBatch): KEYS are the outcomes stream and the pending
// uploads, then the notification queue's wait, meta, active, events and marker keys and the pending
// notifications; ARGV holds the TTLs and cap, the notification job name and the default cap of the
// queue's events stream, then per event its four keys, JobId, source key, mode, reconciled flag,
// source state (JSON without outcomeId and attempt, see sourceStateJson), the index of the attempt
// value among its fields, the field count, the notification (its job key, job id, options, the
// job data's JSON around outcomeId and attempt, and the time; an empty id when none), and the fields.
// The notification job is a standard BullMQ job (LUA_BULLMQ_ADD_JOB, the layout the ingress writes
// event jobs with), so the notification worker is a plain BullMQ Worker. The per-event keys
// travel in ARGV because their number varies; under a `{…}` prefix they share the declared keys'
// cluster slot, as BullMQ's own scripts assume for job keys.
// Mode 'given' records the attempt as sent. Mode 'mapping' takes it from the JobId mapping (1 when
// there is none), which saves the worker a lookup round trip when the decision does not depend on
// it; 'mapping-strict' also answers -1 (nothing written) when that mapping says reconciliation
// already recorded the JobId's outcome. Replies per event: the attempt recorded, or 0 for a
// duplicate (already processed).
const RECORD_SCRIPT = `${LUA_BULLMQ_ADD_JOB}
local replies = {}
local maxEvents = vodMaxEvents(KEYS[4], ARGV[5])
local notified = false
local i = 6
while i <= #ARGV do
  local processedKey, stateKey, byUrlKey, uploadKey = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local jobId, sourceKey, mode, reconciled = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local state, attemptAt, n = ARGV[i + 8], tonumber(ARGV[i + 9]), tonumber(ARGV[i + 10])
  local noteKey, noteId, noteOpts = ARGV[i + 11], ARGV[i + 12], ARGV[i + 13]
  local noteHead, noteTail, noteAt = ARGV[i + 14], ARGV[i + 15], ARGV[i + 16]
  local fields = {}
  for j = 1, n do fields[j] = ARGV[i + 16 + j] end
  i = i + 17 + n
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
      if noteId ~= '' then
        local data = noteHead .. '"outcomeId":"' .. id .. '","attempt":' .. attempt .. ',' .. noteTail
        if vodAddJob(noteKey, KEYS[3], KEYS[6], maxEvents, noteId, ARGV[4], data, noteOpts, noteAt) == 1 then
          redis.call('ZADD', KEYS[8], noteAt, noteId)
          notified = true
        end
      end
      redis.call('SET', processedKey, id, 'EX', ARGV[1])
      reply = attempt
    end
  end
  replies[#replies + 1] = reply
end
if notified then vodWakeWorkers(KEYS[4], KEYS[5], KEYS[7]) end
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

/** Which outcomes get a notification job, and the job's BullMQ options. */
export interface NotificationOptions {
  /** OUTCOME_WEBHOOK_EVENTS. */
  decisions: ReadonlySet<Decision>;
  /** OUTCOME_WEBHOOK_MAX_ATTEMPTS. */
  attempts: number;
}

/** Settings of the store. */
export interface OutcomeStoreOptions {
  prefix: string;
  dedupeTtlSeconds: number;
  outcomesMaxLen: number;
  sourceStateTtlSeconds: number;
  /** Cap of BullMQ's events stream of the notification queue (QUEUE_EVENTS_MAX_LEN). */
  eventsMaxLen?: number;
  /** Set when outcome webhooks are on. */
  notifications?: NotificationOptions;
}

// Delivered notifications are kept a day (their id then still collapses a re-add); dead-lettered
// ones leave a dead letter, which is what `vodctl webhooks` works from.
const NOTIFICATION_RETENTION = {
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
};

/** The BullMQ options of a notification job (the delays come from the worker's backoff strategy). */
export function notificationJobOptions(attempts: number): Record<string, unknown> {
  return { attempts, backoff: { type: 'webhook' }, ...NOTIFICATION_RETENTION };
}

/** Reads and writes everything the worker keeps besides BullMQ jobs. */
export class OutcomeStore {
  readonly keys: RedisKeys;
  private readonly records: ScriptBatch<RecordResult>;
  private readonly notificationOpts?: (jobId: string) => string;
  private readonly notificationBase: string;

  constructor(
    private readonly redis: Redis,
    private readonly options: OutcomeStoreOptions,
  ) {
    this.keys = new RedisKeys(options.prefix);
    if (!('vodRecordOutcomes' in redis)) {
      redis.defineCommand('vodRecordOutcomes', { numberOfKeys: 8, lua: RECORD_SCRIPT });
    }
    const q = queueKeys(options.prefix, NOTIFICATIONS_QUEUE);
    this.notificationBase = q.base;
    if (options.notifications) {
      this.notificationOpts = jobOptionsJson(notificationJobOptions(options.notifications.attempts));
    }
    const script = (redis as unknown as { vodRecordOutcomes: BatchScript }).vodRecordOutcomes.bind(redis);
    this.records = new ScriptBatch(
      script,
      [
        this.keys.outcomes,
        this.keys.pendingUploads,
        q.wait,
        q.meta,
        q.active,
        q.events,
        q.marker,
        this.keys.pendingNotifications,
        String(options.dedupeTtlSeconds),
        String(options.outcomesMaxLen),
        String(options.sourceStateTtlSeconds),
        NOTIFICATION_JOB_NAME,
        String(options.eventsMaxLen ?? 10000),
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
      ...this.notificationArgs(dedupeKey, outcome),
      ...fields,
    ]);
  }

  /**
   * The record script's notification arguments for an outcome: none (an empty id) unless webhooks
   * are on for its decision. The job data is `{webhookId, outcome}` with the outcome's fields typed
   * (attempt a number); the script writes outcomeId and attempt in between head and tail.
   */
  private notificationArgs(dedupeKey: string, outcome: OutcomeRecord): string[] {
    const opts = this.notificationOpts;
    if (!opts || !this.options.notifications?.decisions.has(outcome.decision))
      return ['', '', '', '', '', ''];
    const jobId = notificationJobIdOf(dedupeKey);
    const { attempt: _attempt, ...rest } = outcome;
    return [
      this.notificationBase + jobId,
      jobId,
      opts(jobId),
      `{"webhookId":${JSON.stringify(webhookIdOf(dedupeKey))},"outcome":{`,
      `${JSON.stringify(rest).slice(1)}}`,
      String(Date.now()),
    ];
  }

  /** The notification left the pending set: delivered or dead-lettered. */
  async notificationSettled(jobId: string): Promise<void> {
    await this.redis.zrem(this.keys.pendingNotifications, jobId);
  }

  /**
   * Epoch ms of the oldest notification still pending, or undefined. A pending entry whose job no
   * longer exists (removed by hand) is dropped, so it cannot hold the age up forever.
   */
  async oldestPendingNotificationMs(): Promise<number | undefined> {
    for (let i = 0; i < 10; i++) {
      const [jobId, score] = await this.redis.zrange(this.keys.pendingNotifications, 0, 0, 'WITHSCORES');
      if (jobId === undefined) return undefined;
      if ((await this.redis.exists(this.notificationBase + jobId)) === 1) return Number(score);
      await this.redis.zrem(this.keys.pendingNotifications, jobId);
    }
    return undefined;
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
