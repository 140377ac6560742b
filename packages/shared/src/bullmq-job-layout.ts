import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RedisClient } from './redis.js';

/**
 * The bullmq version whose job layout `LUA_BULLMQ_ADD_JOB` writes. Our scripts write standard jobs
 * without going through `Queue.add` (the ingress's event jobs, in batches; the worker's notification
 * jobs, inside the outcome record script so they are atomic with it): this module is the one place
 * that knows BullMQ's private layout, for writing and for reading a job's stored data back. Pinned by
 * apps/ingress/src/event-job-writer.integration.test.ts against Queue.add and a real Worker; revisit
 * it with every bullmq upgrade.
 */
export const BULLMQ_LAYOUT_VERSION = '6.7.0';

/** Thrown at start when the installed bullmq is not the one the layout was written for. */
export class BullmqLayoutError extends Error {
  override name = 'BullmqLayoutError';
}

/** The installed bullmq version, read from its dist (its package.json is not exported). */
export function installedBullmqVersion(): string {
  const entry = createRequire(import.meta.url).resolve('bullmq');
  const text = readFileSync(join(dirname(entry), 'version.js'), 'utf8');
  const match = /version\s*=\s*'([^']+)'/.exec(text);
  if (!match) throw new BullmqLayoutError(`cannot read the bullmq version next to ${entry}`);
  return match[1]!;
}

/** Refuses to go on with a bullmq whose job layout our scripts were not checked against. */
export function assertBullmqLayout(version: string = installedBullmqVersion()): void {
  if (version !== BULLMQ_LAYOUT_VERSION) {
    throw new BullmqLayoutError(
      `bullmq ${version} is installed, but our Lua job writers follow the job layout of bullmq ${BULLMQ_LAYOUT_VERSION} (packages/shared/src/bullmq-job-layout.ts): check it and update BULLMQ_LAYOUT_VERSION`,
    );
  }
}

/**
 * The keys of one BullMQ queue that our scripts write (adding a job) and that tools, benchmarks and
 * tests read directly: no other file spells BullMQ's key layout.
 */
export interface QueueKeys {
  /** `<prefix>:<queue>:` — a job's hash is this plus its id. */
  base: string;
  wait: string;
  meta: string;
  active: string;
  events: string;
  marker: string;
  /** Sorted sets of finished and scheduled jobs. */
  completed: string;
  failed: string;
  delayed: string;
}

/** The keys of queue `name` under `prefix`. */
export function queueKeys(prefix: string, name: string): QueueKeys {
  const base = `${prefix}:${name}:`;
  return {
    base,
    wait: `${base}wait`,
    meta: `${base}meta`,
    active: `${base}active`,
    events: `${base}events`,
    marker: `${base}marker`,
    completed: `${base}completed`,
    failed: `${base}failed`,
    delayed: `${base}delayed`,
  };
}

/**
 * A job's data exactly as BullMQ stored it (the `data` field of its hash: JSON text), or null when
 * the job is gone. For the bytes a writer put there, which `Job.data` only gives parsed.
 */
export function readStoredJobData(
  redis: RedisClient,
  prefix: string,
  name: string,
  jobId: string,
): Promise<string | null> {
  return redis.hget(`${queueKeys(prefix, name).base}${jobId}`, 'data');
}

/**
 * The job options BullMQ stores for a job (JSON, `jobId` last), built once per job kind: `head`
 * holds the options common to every job, the id is appended per job.
 */
export function jobOptionsJson(common: object): (jobId: string) => string {
  const head = `${JSON.stringify(common).slice(0, -1)},"jobId":`;
  return (jobId) => `${head}${JSON.stringify(jobId)}}`;
}

/**
 * Lua functions for a script that adds standard BullMQ jobs: the part of bullmq 6.7.0's
 * addStandardJob a job with a custom id and no parent, dedupe, delay or priority needs. Left out
 * because they do nothing for such a job: the id counter INCR, the msgpack/cjson round trip of the
 * options, the parent and deduplication branches, and the uncapped 'added' event (QueueEvents
 * listeners still get 'waiting' and 'duplicated').
 *
 * `vodAddJob(jobKey, waitKey, eventsKey, maxEvents, jobId, name, data, opts, timestamp)` writes the
 * job hash exactly as BullMQ does (name, data, opts, timestamp, delay, priority), LPUSHes it to wait
 * and adds the capped 'waiting' event; an existing job id is left alone ('duplicated' event) and
 * answers 0, a new one 1. `vodMaxEvents(metaKey, default)` is the events stream cap the queue's meta
 * holds. `vodWakeWorkers(metaKey, activeKey, markerKey)`, once after the adds, sets the marker
 * that wakes blocked workers unless the queue is paused or at its global concurrency.
 */
export const LUA_BULLMQ_ADD_JOB = `
local function vodMaxEvents(metaKey, default)
  return redis.call('HGET', metaKey, 'opts.maxLenEvents') or default
end
local function vodAddJob(jobKey, waitKey, eventsKey, maxEvents, jobId, name, data, opts, timestamp)
  if redis.call('EXISTS', jobKey) == 1 then
    redis.call('XADD', eventsKey, 'MAXLEN', '~', maxEvents, '*', 'event', 'duplicated', 'jobId', jobId)
    return 0
  end
  redis.call('HSET', jobKey, 'name', name, 'data', data, 'opts', opts,
    'timestamp', timestamp, 'delay', 0, 'priority', 0)
  redis.call('LPUSH', waitKey, jobId)
  redis.call('XADD', eventsKey, 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', jobId)
  return 1
end
local function vodWakeWorkers(metaKey, activeKey, markerKey)
  local meta = redis.call('HMGET', metaKey, 'paused', 'concurrency')
  local maxed = meta[1] or (meta[2] and redis.call('LLEN', activeKey) >= tonumber(meta[2]))
  if not maxed then redis.call('ZADD', markerKey, 0, '0') end
end
`;
