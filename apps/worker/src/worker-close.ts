import type { Worker } from 'bullmq';

/**
 * How long a BullMQ worker's close may still take once it has no job in flight. Its close takes
 * milliseconds; the grace only bounds the case below.
 */
export const IDLE_CLOSE_GRACE_MS = 5000;

/** The ids of the jobs `worker` is running now, kept from its own 'active', 'completed' and 'failed' events. */
export function trackJobsInFlight(worker: Pick<Worker, 'on'>): ReadonlySet<string> {
  const running = new Set<string>();
  worker.on('active', (job) => job.id && running.add(job.id));
  worker.on('completed', (job) => job.id && running.delete(job.id));
  // A job failed by the stalled check was never active here: deleting it is a no-op.
  worker.on('failed', (job) => job?.id && running.delete(job.id));
  return running;
}

/**
 * Closes `worker` — it stops taking jobs and finishes the ones it runs — waiting for the close as
 * long as jobs are in flight, then at most `graceMs` more. BullMQ 6's close can hang for good on a
 * Redis Cluster: after a failover, the blocking connection of an idle queue can be left closed
 * with no node, and the close waits for an 'end' that never comes (the cluster failover test saw
 * it). Nothing is left to wait for then, and the shutdown must go on. Resolves 'closed', or
 * 'abandoned' when it stopped waiting.
 */
export async function closeWhenIdle(
  worker: Pick<Worker, 'close'>,
  inFlight: ReadonlySet<string>,
  graceMs = IDLE_CLOSE_GRACE_MS,
  pollMs = 100,
): Promise<'closed' | 'abandoned'> {
  let timer: NodeJS.Timeout | undefined;
  let idleSince: number | undefined;
  const abandoned = new Promise<'abandoned'>((resolve) => {
    timer = setInterval(() => {
      if (inFlight.size > 0) idleSince = undefined;
      else idleSince ??= Date.now();
      if (idleSince !== undefined && Date.now() - idleSince >= graceMs) resolve('abandoned');
    }, pollMs);
  });
  try {
    return await Promise.race([worker.close().then(() => 'closed' as const), abandoned]);
  } finally {
    clearInterval(timer);
  }
}
