import { QUEUE_STATES, type QueueSnapshot } from './metrics.js';
import type { QueueName } from './queues.js';
import type { ShardQueue } from './shards.js';

/** Reads counts per state, the oldest waiting job's age and the paused flag of each shard's queues. */
export async function snapshotQueues(
  queues: readonly ShardQueue[],
  now: () => number = Date.now,
): Promise<QueueSnapshot[]> {
  return Promise.all(
    queues.map(async ({ shard, queue }) => {
      // getWaiting is ascending: index 0 is the oldest waiting job.
      const [counts, [oldest], paused] = await Promise.all([
        queue.getJobCounts(...QUEUE_STATES),
        queue.getWaiting(0, 0),
        queue.isPaused(),
      ]);
      const oldestWaitingSeconds = oldest ? Math.max(0, (now() - oldest.timestamp) / 1000) : 0;
      return { queue: queue.name as QueueName, shard: String(shard), counts, oldestWaitingSeconds, paused };
    }),
  );
}
