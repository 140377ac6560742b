import { QUEUE_NAMES, type QueueName } from '@vod-callbacks/shared';
import type { JobType } from 'bullmq';
import type { CliContext } from './cli-context.js';

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
