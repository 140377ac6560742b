import type { Socket } from 'node:net';
import { EVENT_JOB_NAME, EVENTS_QUEUE } from '@vod-callbacks/shared';
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

// The part of bullmq 6.7.0's addStandardJob script an event job needs, and nothing else: the job hash
// exactly as BullMQ writes it (name, data, opts, timestamp, delay, priority), LPUSH to wait, the
// marker that wakes workers unless the queue is paused or at its global concurrency, and the
// 'waiting' event (capped). Left out because they do nothing for a job with a custom id and no
// parent, dedupe, delay or priority: the id counter INCR, the msgpack/cjson round trip of the
// options, the parent and deduplication branches, and the uncapped 'added' event (QueueEvents
// listeners still get 'waiting' and 'duplicated'). Pinned by event-job-writer.integration.test.ts
// against Queue.add and a real Worker; revisit it with every bullmq upgrade.
const ADD_EVENT_JOB = `
local meta = redis.call('HMGET', KEYS[2], 'paused', 'concurrency', 'opts.maxLenEvents')
local maxEvents = meta[3] or ARGV[6]
if redis.call('EXISTS', KEYS[6]) == 1 then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', maxEvents, '*', 'event', 'duplicated', 'jobId', ARGV[1])
  return 0
end
redis.call('HSET', KEYS[6], 'name', ARGV[2], 'data', ARGV[3], 'opts', ARGV[4], 'timestamp', ARGV[5],
  'delay', 0, 'priority', 0)
redis.call('LPUSH', KEYS[1], ARGV[1])
local maxed = meta[1] or (meta[2] and redis.call('LLEN', KEYS[3]) >= tonumber(meta[2]))
if not maxed then redis.call('ZADD', KEYS[5], 0, '0') end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', ARGV[1])
return 1
`;

type AddEventJob = (...args: string[]) => Promise<number>;

/**
 * Writes `vod-events` jobs with one lean script call per callback. The jobs are standard BullMQ
 * jobs (the worker is a plain BullMQ Worker); what is saved is the CPU of building a Job object,
 * encoding its options per call, and Redis writes that have no effect for these jobs.
 *
 * Commands issued in one event-loop turn leave in one socket write: the connection is corked on
 * the first add of a turn and uncorked in `setImmediate`. On a CPU-bound box the per-command
 * `write` syscall (which on loopback also pays for the receiving side) was the largest single cost
 * of an enqueue; ioredis's auto-pipelining saves it too but costs more in Pipeline objects.
 */
export class EventJobWriter {
  private readonly keys: string[];
  private readonly jobKeyPrefix: string;
  private readonly optsHead: string;
  private readonly eventsMaxLen: string;
  private readonly addScript: AddEventJob;
  private corkedStream: Socket | undefined;
  private readonly uncork = () => {
    const stream = this.corkedStream;
    this.corkedStream = undefined;
    stream?.uncork();
  };

  constructor(
    private readonly redis: Redis,
    prefix: string,
    options: EventJobOptions,
  ) {
    const q = `${prefix}:${EVENTS_QUEUE}:`;
    this.jobKeyPrefix = q;
    this.keys = [`${q}wait`, `${q}meta`, `${q}active`, `${q}events`, `${q}marker`];
    // BullMQ stores the options as JSON, jobId included; the rest is the same for every event job.
    const opts = {
      attempts: options.attempts,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: options.keepCompleted },
      // Failed jobs are dead-lettered by the worker; keep them a week as evidence, bounded.
      removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
    };
    this.optsHead = `${JSON.stringify(opts).slice(0, -1)},"jobId":`;
    this.eventsMaxLen = String(options.eventsMaxLen);
    if (!('vodAddEventJob' in redis)) {
      redis.defineCommand('vodAddEventJob', { numberOfKeys: 6, lua: ADD_EVENT_JOB });
    }
    this.addScript = (redis as unknown as { vodAddEventJob: AddEventJob }).vodAddEventJob.bind(redis);
  }

  /** Stores one event job with id `jobId` and JSON `data`; resolves once Redis holds it. */
  async add(jobId: string, data: string, timestamp: number): Promise<AddResult> {
    this.corkForThisTurn();
    const k = this.keys;
    const added = await this.addScript(
      k[0]!,
      k[1]!,
      k[2]!,
      k[3]!,
      k[4]!,
      this.jobKeyPrefix + jobId,
      jobId,
      EVENT_JOB_NAME,
      data,
      `${this.optsHead}${JSON.stringify(jobId)}}`,
      String(timestamp),
      this.eventsMaxLen,
    );
    return added === 1 ? 'added' : 'duplicate';
  }

  private corkForThisTurn(): void {
    if (this.corkedStream) return;
    const stream = (this.redis as unknown as { stream?: Socket }).stream;
    if (!stream || this.redis.status !== 'ready') return;
    stream.cork();
    this.corkedStream = stream;
    setImmediate(this.uncork);
  }
}
