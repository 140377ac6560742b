import {
  EVENT_JOB_NAME,
  EVENTS_QUEUE,
  jobOptionsJson,
  LUA_BULLMQ_ADD_JOB,
  queueKeys,
  type RedisClient,
  ScriptBatch,
  type VariadicCommand,
  variadicScript,
} from '@vod-callbacks/shared';
import type { JobsOptions } from 'bullmq';

/** What every event job the writer adds shares. */
export interface EventJobWriterOptions {
  /** The options each job carries (`eventJobOptions`: what BullMQ's `defaultJobOptions` would give it). */
  jobOptions: JobsOptions;
  /** Cap of BullMQ's events stream, used until the queue's meta holds one. */
  eventsMaxLen: number;
}

/** Whether the add created a job or found one with the same id (a redelivered callback). */
export type AddResult = 'added' | 'duplicate';

// Every add of a batch goes through the shared BullMQ job layout (LUA_BULLMQ_ADD_JOB), and the
// marker that wakes workers is set once per batch. Unlike BullMQ's own scripts, which build job keys
// from the queue's base key inside Lua, every key travels in KEYS, so Redis Cluster and proxies see
// each key the script touches. KEYS: wait, meta, active, events, marker, then one job hash key per
// job; ARGV: job name, default events cap, then four fixed positions per job (id, data, options,
// timestamp).
export const ADD_EVENT_JOBS = `${LUA_BULLMQ_ADD_JOB}
local n = #KEYS - 5
if n * 4 ~= #ARGV - 2 then
  return redis.error_reply('ERR ' .. n .. ' job keys for ' .. (#ARGV - 2) .. ' job arguments')
end
local maxEvents = vodMaxEvents(KEYS[2], ARGV[2])
local results = {}
local added = false
for j = 1, n do
  local i = 3 + (j - 1) * 4
  local r = vodAddJob(KEYS[5 + j], KEYS[1], KEYS[4], maxEvents, ARGV[i], ARGV[1], ARGV[i + 1],
    ARGV[i + 2], ARGV[i + 3])
  results[#results + 1] = r
  if r == 1 then added = true end
end
if added then vodWakeWorkers(KEYS[2], KEYS[3], KEYS[5]) end
return results
`;

/** Most jobs per script call; a larger turn is split (keeps one call's Redis time short). */
const MAX_BATCH = 256;

/**
 * Writes `vod-events` jobs: every add of one event-loop turn goes to Redis in one script call,
 * sent in `setImmediate` (so an answer waits at most one turn longer). The jobs are standard BullMQ
 * jobs (the worker is a plain BullMQ Worker). What is saved, per callback: building a Job object
 * and encoding its options, one ioredis command with its own socket write and reply, and the
 * Redis writes that do nothing for these jobs. Not ioredis auto-pipelining or `addBulk`: those
 * batch too, but allocate a Pipeline per batch and still run one script per job.
 */
export class EventJobWriter {
  private readonly optsOf: (jobId: string) => string;
  /** The queue's base key: a job's hash key is this plus its id. */
  private readonly jobKeyBase: string;
  private readonly batch: ScriptBatch<AddResult>;

  /**
   * `timeout`: a batch Redis has not answered within `timeout.ms` rejects its adds with
   * `timeout.error()`. `confirm`: run once per batch after Redis answered, with what is left of
   * `timeout.ms` (the replica acknowledgement of REDIS_MIN_REPLICAS); its rejection rejects the adds.
   */
  constructor(
    redis: RedisClient,
    prefix: string,
    options: EventJobWriterOptions,
    timeout?: { ms: number; error: () => Error },
    confirm?: (remainingMs: number | undefined) => Promise<void>,
  ) {
    const q = queueKeys(prefix, EVENTS_QUEUE);
    this.jobKeyBase = q.base;
    const head = {
      keys: [q.wait, q.meta, q.active, q.events, q.marker],
      args: [EVENT_JOB_NAME, String(options.eventsMaxLen)],
    };
    // BullMQ stores the options as JSON, jobId included; the rest is the same for every event job.
    this.optsOf = jobOptionsJson(options.jobOptions);
    if (!('vodAddEventJobs' in redis)) {
      redis.defineCommand('vodAddEventJobs', { lua: ADD_EVENT_JOBS });
    }
    const command = (redis as unknown as { vodAddEventJobs: VariadicCommand }).vodAddEventJobs;
    const addScript = variadicScript(command.bind(redis));
    this.batch = new ScriptBatch(
      addScript,
      head,
      (reply) => (reply === 1 ? 'added' : 'duplicate'),
      MAX_BATCH,
      timeout,
      confirm,
    );
  }

  /** Stores one event job with id `jobId` and JSON `data`; resolves once Redis holds it. */
  add(jobId: string, data: string, timestamp: number): Promise<AddResult> {
    return this.batch.add([jobId, data, this.optsOf(jobId), String(timestamp)], [this.jobKeyBase + jobId]);
  }
}
