import { hash } from 'node:crypto';
import type { Queue } from 'bullmq';
import { ConfigError } from './env-config.js';
import { optionalObject, optionalString } from './event.js';
import { openQueue } from './open-queue.js';
import { QUEUE_NAMES, type QueueName } from './queues.js';
import type { RedisClient } from './redis.js';
import type { RedisTopology } from './redis-topology.js';

/**
 * Event shards (EVENT_SHARDS): N independent copies of the pipeline's Redis state — the three
 * queues, the outcomes stream and every per-source key — each under a prefix of its own. BullMQ
 * keeps a queue in one hash slot, so on Redis Cluster one shard lives on one master; N shards spread
 * the work over up to N masters. Everything about one upload source stays in one shard (see
 * `shardOfEvent`), so no step ever reads across shards.
 */
export interface ShardLayout {
  /** EVENT_SHARDS. */
  readonly count: number;
  /** Key prefix of each shard, by index. */
  readonly prefixes: readonly string[];
}

/** Most shards a deployment may have: metric label values are bounded by it. */
export const MAX_EVENT_SHARDS = 64;

/**
 * The shard layout of `queuePrefix` with `count` shards: one shard keeps `queuePrefix` itself (a
 * single-shard deployment's keys do not move); with more, shard i's prefix is `{<queuePrefix>-i}`,
 * a hash tag of its own, so each shard's keys share one Redis Cluster slot.
 */
export function shardLayoutOf(queuePrefix: string, count: number): ShardLayout {
  if (!Number.isInteger(count) || count < 1 || count > MAX_EVENT_SHARDS)
    throw new ConfigError(`EVENT_SHARDS=${count} is invalid: expected 1 to ${MAX_EVENT_SHARDS}`);
  const prefixes =
    count === 1 ? [queuePrefix] : Array.from({ length: count }, (_, i) => `{${queuePrefix}-${i}}`);
  return Object.freeze({ count, prefixes: Object.freeze(prefixes) });
}

/**
 * The shard layout a process runs with on `topology`: `shardLayoutOf`, refused (ConfigError) on a
 * Redis Cluster when one shard's prefix has no hash tag (`clusterPrefixProblem`).
 */
export function shardLayoutFor(topology: RedisTopology, queuePrefix: string, count: number): ShardLayout {
  const layout = shardLayoutOf(queuePrefix, count);
  const problem = topology.kind === 'cluster' ? clusterPrefixProblem(queuePrefix, count) : undefined;
  if (problem) throw new ConfigError(problem);
  return layout;
}

/**
 * The key text Redis Cluster hashes for `key`: the part between the first `{` and the next `}`
 * when that part is not empty, else the whole key.
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** Whether every key under `prefix` (`<prefix>:…`) hashes to one slot, as BullMQ needs on a cluster. */
export function prefixHasHashTag(prefix: string): boolean {
  return hashTagOf(`${prefix}:x`) !== `${prefix}:x`;
}

/**
 * What a single-shard deployment on Redis Cluster must fix, or undefined. BullMQ's scripts touch
 * several keys of a queue at once; without a hash tag they fall in different slots and every
 * command fails with CROSSSLOT.
 */
export function clusterPrefixProblem(queuePrefix: string, count: number): string | undefined {
  if (count > 1 || prefixHasHashTag(`${queuePrefix}`)) return undefined;
  return `QUEUE_PREFIX=${JSON.stringify(queuePrefix)} has no hash tag, so BullMQ's keys would fall in different Redis Cluster slots; set QUEUE_PREFIX={${queuePrefix}} (one shard), or EVENT_SHARDS=N > 1 (shard prefixes {${queuePrefix}-0}…)`;
}

/**
 * The shard an event goes to: a stable hash of its upload source (SpaceName + SourceUrl +
 * CallbackArgs, the worker's source identity), so a callback, its redeliveries and the callbacks
 * of its re-uploads meet in one shard; the RequestId when the source fields are missing or not
 * strings (such an event is dead-lettered, wherever it lands).
 */
export function shardOfEvent(event: unknown, count: number): number {
  if (count <= 1) return 0;
  const body = optionalObject(event);
  const data = optionalObject(body.Data);
  const space = data.SpaceName;
  const url = data.SourceUrl;
  const key =
    typeof space === 'string' && space && typeof url === 'string' && url
      ? [space, url, optionalString(data.CallbackArgs)]
      : [optionalString(body.RequestId)];
  return shardOfKey(key, count);
}

/** The shard of the source with these parts (as `shardOfEvent` computes it). */
export function shardOfSource(
  spaceName: string,
  sourceUrl: string,
  callbackArgs: string,
  count: number,
): number {
  return count <= 1 ? 0 : shardOfKey([spaceName, sourceUrl, callbackArgs], count);
}

function shardOfKey(parts: string[], count: number): number {
  // 48 bits of SHA-1 over the NUL-joined parts: uniform, stable across versions and processes.
  const digest = hash('sha1', `${parts.join('\u0000')}\u0000`);
  return Number.parseInt(digest.slice(0, 12), 16) % count;
}

/**
 * The Redis Cluster slot of `key` (CRC16-XMODEM of its hash tag, modulo 16384), as `CLUSTER KEYSLOT`
 * computes it: used to find the master that holds a shard (for WAIT and replica counts).
 */
export function clusterSlotOf(key: string): number {
  const bytes = Buffer.from(hashTagOf(key), 'utf8');
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** A queue of one shard. */
export interface ShardQueue {
  shard: number;
  queue: Queue;
}

/** `names`' queues in every shard of `layout`, on one connection (for gauges, bull-board and tools). */
export function openShardQueues(
  connection: RedisClient,
  layout: ShardLayout,
  names: readonly QueueName[] = QUEUE_NAMES,
): ShardQueue[] {
  return layout.prefixes.flatMap((prefix, shard) =>
    names.map((name) => ({ shard, queue: openQueue(name, { connection, prefix }) })),
  );
}

/** Key recording the EVENT_SHARDS the deployment's Redis is laid out for (outside every shard). */
export function shardCountKey(queuePrefix: string): string {
  return `${queuePrefix}:event-shards`;
}

/**
 * Records `count` as the deployment's EVENT_SHARDS when none is recorded, and says what is wrong
 * when another one is: an ingress and a worker with different counts would route events to shards
 * no worker consumes, and look for a source's state in the wrong shard.
 */
export async function shardCountProblem(
  redis: RedisClient,
  queuePrefix: string,
  count: number,
): Promise<string | undefined> {
  const key = shardCountKey(queuePrefix);
  await redis.set(key, String(count), 'NX');
  const recorded = await redis.get(key);
  if (recorded === null || Number(recorded) === count) return undefined;
  return `EVENT_SHARDS=${count}, but this Redis holds QUEUE_PREFIX ${JSON.stringify(queuePrefix)} in ${recorded} shard(s) (${key}); every process of a deployment must use the same EVENT_SHARDS. To change it: stop the ingresses, let the workers drain every queue, then run \`vodctl shards set ${count}\` (README, Scaling past one Redis)`;
}

/**
 * Checks the recorded shard count now if `redis` is ready, and at every (re)connect: a mismatch is
 * handed to `onRefused` as a ConfigError (processes exit 78 on it). Returns the check, for a caller
 * that must know the answer before it goes on (the ingress, before it binds its port).
 */
export function refuseShardCountMismatch(
  redis: RedisClient,
  queuePrefix: string,
  count: number,
  onRefused: (err: ConfigError) => void,
): () => Promise<void> {
  const check = () =>
    shardCountProblem(redis, queuePrefix, count).then(
      (problem) => {
        if (problem) onRefused(new ConfigError(problem));
      },
      () => {
        // Redis went away again: the next ready checks.
      },
    );
  redis.on('ready', () => void check());
  if (redis.status === 'ready') void check();
  return check;
}

/** A BullMQ limiter: at most `max` jobs per `duration` ms. */
export interface RateLimit {
  max: number;
  duration: number;
}

/**
 * One shard's part of a deployment-wide rate (`perSecond` across every shard's queue): BullMQ's
 * limiter holds per queue, and each shard has its own. Split evenly, rounded down so the sum never
 * exceeds the whole (VOD's API quota is what it protects); below one per second a shard gets one
 * job per longer window.
 */
export function shardShareOfRate(perSecond: number, shards: number): RateLimit {
  const share = Math.floor(perSecond / shards);
  return share >= 1
    ? { max: share, duration: 1000 }
    : { max: 1, duration: Math.ceil((1000 * shards) / perSecond) };
}

/** One shard's part of a deployment-wide concurrency (each shard's queue has its own): at least 1. */
export function shardShareOfCount(total: number, shards: number): number {
  return Math.max(1, Math.floor(total / shards));
}
