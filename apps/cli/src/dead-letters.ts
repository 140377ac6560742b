import {
  DEAD_LETTERS_QUEUE,
  type DeadLetterJobData,
  type DeadLetterReason,
  EVENT_JOB_NAME,
  EVENTS_QUEUE,
  type EventJobData,
  eventJobOptions,
  NOTIFICATION_JOB_NAME,
  NOTIFICATIONS_QUEUE,
  type NotificationJobData,
  notificationJobOptions,
  REUPLOAD_JOB_NAME,
  REUPLOADS_QUEUE,
  type ReuploadJobData,
  reuploadJobOptions,
} from '@vod-callbacks/shared';
import type { CliContext } from './cli-context.js';

/** A dead letter as the CLI shows it. */
export interface DeadLetter {
  id: string;
  data: DeadLetterJobData;
  /** When it was written (job timestamp when the data lacks it). */
  at: number;
}

// Nothing consumes vod-dead-letters, so its jobs stay "waiting"; the other states are listed in case
// someone moved one by hand (bull-board in read-write mode).
const STATES = ['waiting', 'delayed', 'prioritized', 'failed', 'completed'] as const;
const PAGE = 500;

/** Every dead letter, oldest first, page by page (bounded memory for large queues). */
export async function* iterateDeadLetters(ctx: CliContext): AsyncGenerator<DeadLetter> {
  const queue = ctx.queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE);
  for (const state of STATES) {
    for (let start = 0; ; start += PAGE) {
      const jobs = await queue.getJobs([state], start, start + PAGE - 1, true);
      for (const job of jobs) {
        if (!job?.id) continue;
        const data = job.data as DeadLetterJobData;
        yield {
          id: job.id,
          data,
          at: typeof data.deadLetteredAt === 'number' ? data.deadLetteredAt : job.timestamp,
        };
      }
      if (jobs.length < PAGE) break;
    }
  }
}

/** One dead letter by id, or undefined. */
export async function getDeadLetter(ctx: CliContext, id: string): Promise<DeadLetter | undefined> {
  const job = await ctx.queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE).getJob(id);
  if (!job?.id) return undefined;
  const data = job.data as DeadLetterJobData;
  return {
    id: job.id,
    data,
    at: typeof data.deadLetteredAt === 'number' ? data.deadLetteredAt : job.timestamp,
  };
}

/** Removes a dead letter; true when it existed. */
export async function removeDeadLetter(ctx: CliContext, id: string): Promise<boolean> {
  return (await ctx.queue(DEAD_LETTERS_QUEUE).remove(id)) === 1;
}

/**
 * Where a replay goes: an event back into vod-events, a re-upload back into vod-reuploads, an
 * undelivered outcome webhook back into vod-notifications.
 */
export interface ReplayPlan {
  queue: typeof EVENTS_QUEUE | typeof REUPLOADS_QUEUE | typeof NOTIFICATIONS_QUEUE;
  /** Derived from the dead letter id, so replaying twice adds one job. */
  jobId: string;
}

/** What replaying this dead letter would do, or why it cannot be replayed. */
export function planReplay(dl: DeadLetter): ReplayPlan | { problem: string } {
  // Dead-letter ids are `dl-<hex>`: no ':' and not integer-like, so `rp-<id>` is a valid BullMQ id.
  const jobId = `rp-${dl.id}`;
  if (typeof dl.data.body === 'string') return { queue: EVENTS_QUEUE, jobId };
  if (dl.data.reupload) return { queue: REUPLOADS_QUEUE, jobId };
  if (dl.data.notification) return { queue: NOTIFICATIONS_QUEUE, jobId };
  return { problem: 'it carries neither an event body, a re-upload nor a notification to repeat' };
}

/**
 * Puts the original event (or re-upload) back through processing once, then removes the dead
 * letter. Idempotent: the job id is derived from the dead letter id (a second add is a no-op while
 * the job exists) and the worker's dedupe key for a replay is `replay:<dead letter id>:<RequestId>`
 * (an outcome is recorded once even after the job is gone). A crash between the add and the removal
 * leaves the dead letter; replaying it again is harmless for the same reasons.
 */
export async function replayDeadLetter(ctx: CliContext, dl: DeadLetter, plan: ReplayPlan): Promise<void> {
  if (plan.queue === EVENTS_QUEUE) {
    const data: EventJobData = {
      body: dl.data.body as string,
      receivedAt: ctx.now(),
      origin: 'replay',
      replayOf: dl.id,
    };
    // The options every event job gets: a replayed event is processed exactly like a delivered one.
    await ctx.queue<EventJobData>(EVENTS_QUEUE).add(EVENT_JOB_NAME, data, {
      ...eventJobOptions(ctx.config),
      jobId: plan.jobId,
    });
  } else if (plan.queue === NOTIFICATIONS_QUEUE) {
    // The same data, so the same webhook-id: a receiver that did get it after all drops the repeat.
    // A fresh attempt budget; pending again until delivered (the job first, see oldestPendingNotificationMs).
    await ctx
      .queue<NotificationJobData>(NOTIFICATIONS_QUEUE)
      .add(NOTIFICATION_JOB_NAME, dl.data.notification as NotificationJobData, {
        ...notificationJobOptions(ctx.config.OUTCOME_WEBHOOK_MAX_ATTEMPTS),
        jobId: plan.jobId,
      });
    await ctx.redis.zadd(ctx.keys.pendingNotifications, ctx.now(), plan.jobId);
  } else {
    const data: ReuploadJobData = { ...(dl.data.reupload as ReuploadJobData), scheduledAt: ctx.now() };
    await ctx.queue<ReuploadJobData>(REUPLOADS_QUEUE).add(REUPLOAD_JOB_NAME, data, {
      ...reuploadJobOptions(ctx.config),
      jobId: plan.jobId,
    });
  }
  await removeDeadLetter(ctx, dl.id);
}

/** Selector of dead letters: one id, a reason, or all. */
export type DeadLetterSelector = { id: string } | { reason: DeadLetterReason } | { all: true };

/** The dead letters a selector picks (an unknown id yields none). */
export async function selectDeadLetters(
  ctx: CliContext,
  selector: DeadLetterSelector,
): Promise<DeadLetter[]> {
  if ('id' in selector) {
    const dl = await getDeadLetter(ctx, selector.id);
    return dl ? [dl] : [];
  }
  const picked: DeadLetter[] = [];
  for await (const dl of iterateDeadLetters(ctx)) {
    if ('all' in selector || dl.data.reason === selector.reason) picked.push(dl);
  }
  return picked;
}
