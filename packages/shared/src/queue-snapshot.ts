import type { Queue } from 'bullmq';
import { QUEUE_STATES, type QueueSnapshot } from './metrics.js';
import type { QueueName } from './queues.js';

/** Reads counts per state and the oldest waiting job's age of each queue. */
export async function snapshotQueues(
  queues: Queue[],
  now: () => number = Date.now,
): Promise<QueueSnapshot[]> {
  return Promise.all(
    queues.map(async (queue) => {
      const counts = await queue.getJobCounts(...QUEUE_STATES);
      // getWaiting is ascending: index 0 is the oldest waiting job.
      const [oldest] = await queue.getWaiting(0, 0);
      const oldestWaitingSeconds = oldest ? Math.max(0, (now() - oldest.timestamp) / 1000) : 0;
      return { queue: queue.name as QueueName, counts, oldestWaitingSeconds };
    }),
  );
}
