import { Queue, type QueueOptions } from 'bullmq';

/**
 * A BullMQ Queue on a connection whose owner reports its errors (`logRedisStateChanges`). A Queue
 * with no 'error' listener has BullMQ print every connection error raw to stderr — a stack trace
 * per reconnect attempt, outside the JSON log — so each one opened here gets a listener that leaves
 * them to the owner.
 */
export function openQueue<T = unknown>(name: string, options: QueueOptions): Queue<T> {
  const queue = new Queue<T>(name, options);
  queue.on('error', () => {});
  return queue;
}
