import { DEAD_LETTERS_QUEUE, QUEUE_NAMES, type QueueName, RedisKeys } from '@vod-callbacks/shared';
import type { JobType } from 'bullmq';
import type { CliContext } from './cli-context.js';

/** States of a job that is not finished: it will still be (or is being) processed. */
export const UNFINISHED_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

/** Jobs per state of one queue. */
export type StateCounts = Record<string, number>;

/** Jobs per state of every queue of one shard. */
export type ShardCounts = Record<QueueName, StateCounts>;

/** Job counts per state of every queue under each of `prefixes` (one shard each), by shard index. */
export async function countShardJobs(
  ctx: CliContext,
  prefixes: readonly string[],
  states: readonly JobType[],
): Promise<ShardCounts[]> {
  return Promise.all(
    prefixes.map(async (prefix) => {
      const counts = {} as ShardCounts;
      for (const name of QUEUE_NAMES) counts[name] = await ctx.queueAt(name, prefix).getJobCounts(...states);
      return counts;
    }),
  );
}

/** The counts of every shard added up, per queue and state. */
export function sumShardCounts(shards: readonly ShardCounts[], states: readonly JobType[]): ShardCounts {
  const total = {} as ShardCounts;
  for (const name of QUEUE_NAMES)
    total[name] = Object.fromEntries(
      states.map((s) => [s, shards.reduce((n, counts) => n + (counts[name]?.[s] ?? 0), 0)]),
    );
  return total;
}

/** What one shard still has to do, and what waits for a person there. */
export interface ShardBacklog {
  /** Unfinished jobs of each working queue (every queue but vod-dead-letters), by state. */
  unfinished: Partial<Record<QueueName, StateCounts>>;
  /** Those added up. */
  unfinishedTotal: number;
  /** Dead letters, in whatever state. */
  deadLetters: number;
  /** Re-uploads this system started whose callback has not come yet (`<prefix>:pending-uploads`). */
  awaitingCallback: number;
}

/** The backlog of each shard under `prefixes`, by shard index. */
export async function shardBacklogs(ctx: CliContext, prefixes: readonly string[]): Promise<ShardBacklog[]> {
  return Promise.all(
    prefixes.map(async (prefix) => {
      const backlog: ShardBacklog = {
        unfinished: {},
        unfinishedTotal: 0,
        deadLetters: 0,
        awaitingCallback: await ctx.redis.zcard(new RedisKeys(prefix).pendingUploads),
      };
      for (const name of QUEUE_NAMES) {
        const queue = ctx.queueAt(name, prefix);
        if (name === DEAD_LETTERS_QUEUE) {
          backlog.deadLetters = sum(await queue.getJobCounts(...UNFINISHED_STATES, 'failed', 'completed'));
        } else {
          const counts = await queue.getJobCounts(...UNFINISHED_STATES);
          backlog.unfinished[name] = counts;
          backlog.unfinishedTotal += sum(counts);
        }
      }
      return backlog;
    }),
  );
}

const sum = (counts: StateCounts) => Object.values(counts).reduce((a, b) => a + b, 0);
