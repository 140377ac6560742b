import { type BatchScript, EVENT_JOB_NAME, EVENTS_QUEUE, ScriptBatch } from '@vod-callbacks/shared';
import type { Redis } from 'ioredis';

/** The job options every event job carries (what BullMQ's `defaultJobOptions` would give it). */
export interface EventJobOptions {
  /** Attempts the worker gets per event job. */
  attempts: number;
  /** Completed event jobs kept. */
  keepCompleted: number;
  /** Cap of BullMQ's events stream, used until the queue's meta holds one. */
  eventsMaxLen: number;
}

/** Whether the add created a job or found one with the same id (a redelivered callback). */
export type AddResult = 'added' | 'duplicate';

// The part of bullmq 6.7.0's addStandardJob script an event job needs, for every job of a batch: the
// job hash exactly as BullMQ writes it (name, data, opts, timestamp, delay, priority), LPUSH to wait,
// the 'waiting' event (capped), and once per batch the marker that wakes workers unless the queue is
// paused or at its global concurrency. Left out because they do nothing for a job with a custom id
// and no parent, dedupe, delay or priority: the id counter INCR, the msgpack/cjson round trip of the
// options, the parent and deduplication branches, and the uncapped 'added' event (QueueEvents
// listeners still get 'waiting' and 'duplicated'). Job keys are built from the prefix inside the
// script, as BullMQ's own scripts do (a `{…}` prefix keeps them in the queue's cluster slot).
// Pinned by event-job-writer.integration.test.ts against Queue.add and a real Worker; revisit it
// with every bullmq upgrade.
const ADD_EVENT_JOBS = `
local meta = redis.call('HMGET', KEYS[2], 'paused', 'concurrency', 'opts.maxLenEvents')
local maxEvents = meta[3] or ARGV[3]
local results = {}
local added = false
for i = 4, #ARGV, 4 do
  local jobId = ARGV[i]
  local jobKey = ARGV[1] .. jobId
  if redis.call('EXISTS', jobKey) == 1 then
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', maxEvents, '*', 'event', 'duplicated', 'jobId', jobId)
    results[#results + 1] = 0
  else
    redis.call('HSET', jobKey, 'name', ARGV[2], 'data', ARGV[i + 1], 'opts', ARGV[i + 2],
      'timestamp', ARGV[i + 3], 'delay', 0, 'priority', 0)
    redis.call('LPUSH', KEYS[1], jobId)
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', jobId)
    results[#results + 1] = 1
    added = true
  end
end
if added then
  local maxed = meta[1] or (meta[2] and redis.call('LLEN', KEYS[3]) >= tonumber(meta[2]))
  if not maxed then redis.call('ZADD', KEYS[5], 0, '0') end
end
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
  private readonly optsHead: string;
  private readonly batch: ScriptBatch<AddResult>;

  /** `timeout`: a batch Redis has not answered within `timeout.ms` rejects its adds with `timeout.error()`. */
  constructor(
    redis: Redis,
    prefix: string,
    options: EventJobOptions,
    timeout?: { ms: number; error: () => Error },
  ) {
    const q = `${prefix}:${EVENTS_QUEUE}:`;
    const head = [
      `${q}wait`,
      `${q}meta`,
      `${q}active`,
      `${q}events`,
      `${q}marker`,
      q,
      EVENT_JOB_NAME,
      String(options.eventsMaxLen),
    ];
    // BullMQ stores the options as JSON, jobId included; the rest is the same for every event job.
    const opts = {
      attempts: options.attempts,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: options.keepCompleted },
      // Failed jobs are dead-lettered by the worker; keep them a week as evidence, bounded.
      removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
    };
    this.optsHead = `${JSON.stringify(opts).slice(0, -1)},"jobId":`;
    if (!('vodAddEventJobs' in redis)) {
      redis.defineCommand('vodAddEventJobs', { numberOfKeys: 5, lua: ADD_EVENT_JOBS });
    }
    const addScript = (redis as unknown as { vodAddEventJobs: BatchScript }).vodAddEventJobs.bind(redis);
    this.batch = new ScriptBatch(
      addScript,
      head,
      (reply) => (reply === 1 ? 'added' : 'duplicate'),
      MAX_BATCH,
      timeout,
    );
  }

  /** Stores one event job with id `jobId` and JSON `data`; resolves once Redis holds it. */
  add(jobId: string, data: string, timestamp: number): Promise<AddResult> {
    return this.batch.add([jobId, data, `${this.optsHead}${JSON.stringify(jobId)}}`, String(timestamp)]);
  }
}
