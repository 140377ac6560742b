import {
  type Decision,
  jobOptionsJson,
  LUA_BULLMQ_ADD_JOB,
  NOTIFICATION_JOB_NAME,
  NOTIFICATIONS_QUEUE,
  notificationJobIdOf,
  notificationJobOptions,
  type OutcomeRecord,
  outcomeToFields,
  parseUploadJobRecord,
  queueKeys,
  type RedisClient,
  RedisKeys,
  ScriptBatch,
  sourceKeyOf,
  stableHash,
  type UploadJobRecord,
  type VariadicCommand,
  variadicScript,
  webhookIdOf,
} from '@vod-callbacks/shared';
import { originRules } from './origin-rules.js';
import { budgetEntryOf } from './reupload-budget.js';

/** Keys per event in RECORD_SCRIPT's KEYS. */
const RECORD_KEYS = 6;

// One atomic step per event: the processed marker, the outcome record, the latest source state, the
// JobId mapping, the pending-upload entry and the outcome's notification job (when webhooks are on
// for its decision) change together or not at all: no outcome without its notification. A worker
// killed before it runs leaves nothing; a retried job then finds no marker and records once. Every
// record of one event-loop turn goes in one call (ScriptBatch).
// KEYS: the outcomes stream, the pending uploads, the notification queue's wait, meta, active,
// events and marker keys and the pending notifications; then per event its RECORD_KEYS keys
// (processed marker, source state, source by URL, JobId mapping, notification job, the source's
// re-upload budget, where a recorded reupload_scheduled marks its grant used). ARGV: the dedupe
// TTL, the stream cap, the source-state TTL, the notification job name and the default cap of that
// queue's events stream; then per event ONE JSON record (see RecordItem): a sender's values never
// share a list with names or positions, so no value can alias them. Each record is decoded and
// checked before anything of it is written; one that fails gets an error reply of its own
// (`invalid: …`) and the others of the call go on. The stream fields come from FIELDS, in that order.
// The notification job is a standard BullMQ job (LUA_BULLMQ_ADD_JOB, the layout the ingress writes
// event jobs with), so the notification worker is a plain BullMQ Worker.
// Mode 'given' records the attempt as sent. Mode 'mapping' takes it from the JobId mapping (1 when
// there is none), which saves the worker a lookup round trip when the decision does not depend on
// it; 'mapping-strict' also answers -1 (nothing written) when that mapping says reconciliation
// already recorded the JobId's outcome. Replies per event: the attempt recorded, or 0 for a
// duplicate (already processed).
export const RECORD_SCRIPT = `${LUA_BULLMQ_ADD_JOB}
local FIELDS = {'requestId', 'jobId', 'spaceName', 'sourceUrl', 'callbackArgs', 'vid', 'code', 'class',
  'decision', 'attempt', 'eventTime', 'processedAt', 'reason', 'origin'}
local OPTIONAL = {reason = true, origin = true}
local KNOWN = {}
for _, name in ipairs(FIELDS) do KNOWN[name] = true end
local MODES = {given = true, mapping = true, ['mapping-strict'] = true}
local NOTE = {'id', 'opts', 'head', 'tail', 'at'}

local function check(raw)
  local ok, r = pcall(cjson.decode, raw)
  if not ok or type(r) ~= 'table' then return nil, 'not a JSON object' end
  if not MODES[r.mode] then return nil, 'mode' end
  if type(r.sourceKey) ~= 'string' then return nil, 'sourceKey' end
  if type(r.reconciled) ~= 'boolean' then return nil, 'reconciled' end
  local o = r.outcome
  if type(o) ~= 'table' then return nil, 'outcome' end
  for name, value in pairs(o) do
    if not KNOWN[name] then return nil, 'unknown field' end
    if type(value) ~= 'string' then return nil, 'field ' .. name .. ' is not a string' end
  end
  for _, name in ipairs(FIELDS) do
    if o[name] == nil and not OPTIONAL[name] then return nil, 'field ' .. name .. ' missing' end
  end
  if not string.match(o.attempt, '^[1-9][0-9]?[0-9]?[0-9]?[0-9]?[0-9]?$') then return nil, 'attempt' end
  if r.budget ~= nil and (type(r.budget) ~= 'string' or r.budget == '') then return nil, 'budget' end
  if r.note ~= nil then
    if type(r.note) ~= 'table' then return nil, 'note' end
    for _, name in ipairs(NOTE) do
      if type(r.note[name]) ~= 'string' or r.note[name] == '' then return nil, 'note ' .. name end
    end
  end
  return r
end

local n = (#KEYS - 8) / ${RECORD_KEYS}
if n ~= #ARGV - 5 then
  return redis.error_reply('ERR ' .. (#KEYS - 8) .. ' keys for ' .. (#ARGV - 5) .. ' records')
end
local maxEvents = vodMaxEvents(KEYS[4], ARGV[5])
local notified = false
local replies = {}
for e = 1, n do
  local k = 8 + (e - 1) * ${RECORD_KEYS}
  local processedKey, stateKey, byUrlKey, uploadKey = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local noteKey, budgetKey = KEYS[k + 5], KEYS[k + 6]
  local r, why = check(ARGV[5 + e])
  local reply
  if not r then
    reply = 'invalid: ' .. why
  elseif redis.call('EXISTS', processedKey) == 1 then
    reply = 0
  else
    local o = r.outcome
    local attempt = tonumber(o.attempt)
    if r.mode ~= 'given' then
      attempt = 1
      local raw = o.jobId ~= '' and redis.call('GET', uploadKey)
      if raw then
        local ok, info = pcall(cjson.decode, raw)
        if ok and type(info) == 'table' then
          attempt = tonumber(info.attempt) or 1
          if r.mode == 'mapping-strict' and info.reconciled == true then reply = -1 end
        end
      end
      o.attempt = tostring(attempt)
    end
    if not reply then
      local fields = {}
      for _, name in ipairs(FIELDS) do
        if o[name] ~= nil then
          fields[#fields + 1] = name
          fields[#fields + 1] = o[name]
        end
      end
      local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
      if r.sourceKey ~= '' then
        local state = {sourceKey = r.sourceKey, outcomeId = id}
        for name, value in pairs(o) do state[name] = value end
        redis.call('SET', stateKey, cjson.encode(state), 'EX', ARGV[3])
        redis.call('SET', byUrlKey, r.sourceKey, 'EX', ARGV[3])
        if o.jobId ~= '' then
          local info = {sourceKey = r.sourceKey, attempt = attempt}
          if r.reconciled then info.reconciled = true end
          redis.call('SET', uploadKey, cjson.encode(info), 'EX', ARGV[3])
          redis.call('ZREM', KEYS[2], o.jobId)
        end
      end
      local note = r.note
      if note then
        local data = note.head .. '"outcomeId":"' .. id .. '","attempt":' .. attempt .. ',' .. note.tail
        if vodAddJob(noteKey, KEYS[3], KEYS[6], maxEvents, note.id, ARGV[4], data, note.opts, note.at) == 1 then
          redis.call('ZADD', KEYS[8], note.at, note.id)
          notified = true
        end
      end
      if r.budget then
        redis.call('HSET', budgetKey, r.budget, 'r')
        redis.call('EXPIRE', budgetKey, ARGV[3])
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

/** One event's record as RECORD_SCRIPT takes it (one JSON text per event in ARGV). */
interface RecordItem {
  mode: AttemptSource;
  /** Empty when the event has no usable source (no source state is kept). */
  sourceKey: string;
  /** The JobId mapping is marked as written by reconciliation. */
  reconciled: boolean;
  /** The stream fields, every value a string (`outcomeToFields`). */
  outcome: Record<string, string>;
  /** The re-upload budget entry this outcome settles (a reupload_scheduled: its grant is used). */
  budget?: string;
  /**
   * The outcome's notification job, when webhooks are on for its decision: job id, BullMQ options,
   * the job data's JSON before and after the outcomeId and attempt the script writes, and the time.
   */
  note?: { id: string; opts: string; head: string; tail: string; at: string };
}

/** Most records per script call; a larger turn is split. */
const MAX_RECORD_BATCH = 128;

/** Where the recorded attempt number comes from; see RECORD_SCRIPT. */
export type AttemptSource = 'given' | 'mapping' | 'mapping-strict';

/** What `record` did: the outcome was written (with this attempt), or nothing was written and why. */
export type RecordResult =
  | { written: true; attempt: number }
  | { written: false; why: 'duplicate' | 'superseded_by_reconciliation' };

const LONE_SURROGATE = /\p{Surrogate}/gu;

/** The string as Redis will store it (UTF-8): each lone surrogate replaced by U+FFFD. */
function wellFormed(s: string): string {
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(s) ? s.replace(LONE_SURROGATE, '\ufffd') : s;
}

function recordResultOf(reply: unknown): RecordResult {
  if (typeof reply === 'string') throw new Error(`outcome record refused by the record script (${reply})`);
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
  /**
   * Run once per record batch after Redis answered (REDIS_MIN_REPLICAS: the replicas' WAIT); a
   * rejection rejects the batch's records, so their jobs fail and are retried.
   */
  confirm?: () => Promise<void>;
  /** Cap of BullMQ's events stream of the notification queue (QUEUE_EVENTS_MAX_LEN). */
  eventsMaxLen?: number;
  /** Set when outcome webhooks are on. */
  notifications?: NotificationOptions;
}

/**
 * Outcomes: the record step (outcome, processed marker, source state, JobId mapping, pending entry
 * and notification in one script) and the reads that decide whether an event is a duplicate. The
 * uploads waiting for their callback, which reconciliation works from, are UploadTracker's.
 */
export class OutcomeStore {
  readonly keys: RedisKeys;
  private readonly records: ScriptBatch<RecordResult>;
  private readonly notificationOpts?: (jobId: string) => string;
  private readonly notificationBase: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: OutcomeStoreOptions,
  ) {
    this.keys = new RedisKeys(options.prefix);
    if (!('vodRecordOutcomes' in redis)) {
      redis.defineCommand('vodRecordOutcomes', { lua: RECORD_SCRIPT });
    }
    const q = queueKeys(options.prefix, NOTIFICATIONS_QUEUE);
    this.notificationBase = q.base;
    if (options.notifications) {
      this.notificationOpts = jobOptionsJson(notificationJobOptions(options.notifications.attempts));
    }
    const command = (redis as unknown as { vodRecordOutcomes: VariadicCommand }).vodRecordOutcomes;
    this.records = new ScriptBatch(
      variadicScript(command.bind(redis)),
      {
        keys: [
          this.keys.outcomes,
          this.keys.pendingUploads,
          q.wait,
          q.meta,
          q.active,
          q.events,
          q.marker,
          this.keys.pendingNotifications,
        ],
        args: [
          String(options.dedupeTtlSeconds),
          String(options.outcomesMaxLen),
          String(options.sourceStateTtlSeconds),
          NOTIFICATION_JOB_NAME,
          String(options.eventsMaxLen ?? 10000),
        ],
      },
      recordResultOf,
      MAX_RECORD_BATCH,
      undefined,
      options.confirm,
    );
  }

  /** True when an outcome was already recorded under this dedupe key. */
  async isProcessed(dedupeKey: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.processed(dedupeKey))) === 1;
  }

  /**
   * `isProcessed` and the JobId's upload record (UploadTracker) in one round trip (both keys are
   * strings, so one MGET): what the event processor needs before deciding on a code whose decision
   * depends on the attempt.
   */
  async lookup(dedupeKey: string, jobId: string): Promise<{ processed: boolean; upload?: UploadJobRecord }> {
    const [marker, upload] = await this.redis.mget(
      this.keys.processed(dedupeKey),
      this.keys.uploadJob(jobId),
    );
    return { processed: marker !== null, upload: parseUploadJobRecord(upload) };
  }

  /**
   * Records the outcome and marks `dedupeKey` processed, atomically. Nothing is written when the key
   * was already processed (a duplicate that raced past the first check), nor, with
   * `attemptFrom: 'mapping-strict'`, when reconciliation already recorded the JobId's outcome.
   * With a `mapping` source the attempt in `outcome` is replaced by the one the JobId mapping holds.
   * `settlesBudget` (a reupload_scheduled outcome): the event's grant in its source's re-upload
   * budget is marked used in the same step, so a redelivery after the marker expired schedules and
   * records nothing (ReuploadBudget).
   */
  record(
    dedupeKey: string,
    outcome: OutcomeRecord,
    attemptFrom: AttemptSource = 'given',
    settlesBudget = false,
  ): Promise<RecordResult> {
    // An event without a usable source (invalid payload) gets an outcome record but no source state.
    const sourceKey = outcome.spaceName && outcome.sourceUrl ? sourceKeyOf(outcome) : '';
    const fields = outcomeToFields(outcome);
    const values: Record<string, string> = {};
    // Redis stores UTF-8: a lone surrogate becomes U+FFFD, here once for the stream and the state alike.
    for (let i = 0; i + 1 < fields.length; i += 2) values[fields[i]!] = wellFormed(fields[i + 1]!);
    const item: RecordItem = {
      mode: attemptFrom,
      sourceKey,
      reconciled: originRules(outcome.origin).marksReconciled,
      outcome: values,
    };
    if (settlesBudget && sourceKey) item.budget = budgetEntryOf(dedupeKey);
    const note = this.notificationOf(dedupeKey, outcome);
    if (note) item.note = note;
    return this.records.add(
      [JSON.stringify(item)],
      [
        this.keys.processed(dedupeKey),
        this.keys.sourceState(sourceKey),
        this.keys.sourceByUrl(stableHash(outcome.sourceUrl)),
        this.keys.uploadJob(outcome.jobId),
        // Every event passes the same number of keys: without a notification, its would-be job key.
        this.notificationBase + notificationJobIdOf(dedupeKey),
        this.keys.reuploadBudget(sourceKey),
      ],
    );
  }

  /**
   * The record's notification, when webhooks are on for its decision. The job data is
   * `{webhookId, outcome}` with the outcome's fields typed (attempt a number); the script writes
   * outcomeId and attempt in between head and tail.
   */
  private notificationOf(dedupeKey: string, outcome: OutcomeRecord): RecordItem['note'] {
    const opts = this.notificationOpts;
    if (!opts || !this.options.notifications?.decisions.has(outcome.decision)) return undefined;
    const id = notificationJobIdOf(dedupeKey);
    const { attempt: _attempt, ...rest } = outcome;
    return {
      id,
      opts: opts(id),
      head: `{"webhookId":${JSON.stringify(webhookIdOf(dedupeKey))},"outcome":{`,
      tail: `${JSON.stringify(rest).slice(1)}}`,
      at: String(Date.now()),
    };
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
}
