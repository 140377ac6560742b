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
  type ShardLayout,
  shardOfEvent,
  shardOfSource,
} from '@vod-callbacks/shared';
import type { Job } from 'bullmq';
import type { CliContext } from './cli-context.js';
import { usageError } from './exit-codes.js';
import { parseShardQualifiedId, shardQualifiedId } from './shard-ids.js';

/** A dead letter as the CLI shows it. */
export interface DeadLetter {
  /** The shard whose vod-dead-letters holds it. */
  shard: number;
  /** Its job id in that queue. */
  id: string;
  /** How the operator names it: the id, qualified by the shard when there are several (`2/dl-…`). */
  ref: string;
  data: DeadLetterJobData;
  /** When it was written (job timestamp when the data lacks it). */
  at: number;
}

// Nothing consumes vod-dead-letters, so its jobs stay "waiting"; the other states are listed in case
// someone moved one by hand (bull-board in read-write mode).
const STATES = ['waiting', 'delayed', 'prioritized', 'failed', 'completed'] as const;
const PAGE = 500;

function deadLetterOf(ctx: CliContext, shard: number, job: Job<DeadLetterJobData>): DeadLetter {
  const data = job.data;
  const id = job.id!;
  return {
    shard,
    id,
    ref: shardQualifiedId(ctx.layout, shard, id),
    data,
    at: typeof data.deadLetteredAt === 'number' ? data.deadLetteredAt : job.timestamp,
  };
}

/** The dead letters of one shard, in queue order, page by page (bounded memory for large queues). */
async function* iterateShard(ctx: CliContext, shard: number): AsyncGenerator<DeadLetter> {
  const queue = ctx.queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, shard);
  for (const state of STATES) {
    for (let start = 0; ; start += PAGE) {
      const jobs = await queue.getJobs([state], start, start + PAGE - 1, true);
      for (const job of jobs) if (job?.id) yield deadLetterOf(ctx, shard, job);
      if (jobs.length < PAGE) break;
    }
  }
}

/**
 * Every dead letter of every shard, oldest first: the shards' lists merged by time (each shard read
 * a page at a time). With one shard this is that shard's list as it is.
 */
export async function* iterateDeadLetters(ctx: CliContext): AsyncGenerator<DeadLetter> {
  const sources = ctx.layout.prefixes.map((_, shard) => iterateShard(ctx, shard));
  const next = async (shard: number) => {
    const r = await sources[shard]!.next();
    return r.done ? undefined : r.value;
  };
  const heads = await Promise.all(sources.map((_, shard) => next(shard)));
  for (;;) {
    let pick = -1;
    for (const [shard, head] of heads.entries())
      if (head && (pick === -1 || head.at < heads[pick]!.at)) pick = shard;
    if (pick === -1) return;
    yield heads[pick]!;
    heads[pick] = await next(pick);
  }
}

/**
 * The dead letter `ref` names (`<shard>/<id>`, or a bare id looked for in every shard), or
 * undefined. A bare id found in several shards is a usage error that lists the qualified ones.
 */
export async function getDeadLetter(ctx: CliContext, ref: string): Promise<DeadLetter | undefined> {
  const { shard, id } = parseShardQualifiedId(ctx.layout, ref);
  const shards = shard === undefined ? ctx.layout.prefixes.map((_, i) => i) : [shard];
  const found: DeadLetter[] = [];
  for (const s of shards) {
    const job = await ctx.queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, s).getJob(id);
    if (job?.id) found.push(deadLetterOf(ctx, s, job));
  }
  if (found.length > 1)
    throw usageError(
      `dead letter ${JSON.stringify(ref)} is in several shards; name one: ${found.map((dl) => dl.ref).join(', ')}`,
    );
  return found[0];
}

/** Removes a dead letter; true when it existed. */
export async function removeDeadLetter(ctx: CliContext, dl: DeadLetter): Promise<boolean> {
  return (await ctx.queue(DEAD_LETTERS_QUEUE, dl.shard).remove(dl.id)) === 1;
}

/**
 * Where a replay goes: an event back into vod-events, a re-upload back into vod-reuploads, an
 * undelivered outcome webhook back into vod-notifications.
 */
export interface ReplayPlan {
  queue: typeof EVENTS_QUEUE | typeof REUPLOADS_QUEUE | typeof NOTIFICATIONS_QUEUE;
  /** The shard the job goes to (see `planReplay`). */
  shard: number;
  /** Derived from the dead letter id, so replaying twice adds one job. */
  jobId: string;
  /** How the operator names the job: `jobId`, qualified by the shard when there are several. */
  jobRef: string;
}

/**
 * What replaying this dead letter would do, or why it cannot be replayed. An event or a re-upload
 * goes to the shard of its upload source, where the ingress would route it now; that is the shard
 * the dead letter is in unless EVENT_SHARDS changed since. A notification stays in its shard.
 */
export function planReplay(layout: ShardLayout, dl: DeadLetter): ReplayPlan | { problem: string } {
  // Dead-letter ids are `dl-<hex>`: no ':' and not integer-like, so `rp-<id>` is a valid BullMQ id.
  const jobId = `rp-${dl.id}`;
  const to = (queue: ReplayPlan['queue'], shard: number): ReplayPlan => ({
    queue,
    shard,
    jobId,
    jobRef: shardQualifiedId(layout, shard, jobId),
  });
  const { body, reupload, notification } = dl.data;
  if (typeof body === 'string') return to(EVENTS_QUEUE, shardOfBody(body, layout.count) ?? dl.shard);
  if (reupload) {
    const { spaceName, sourceUrl, callbackArgs } = reupload.source;
    return to(REUPLOADS_QUEUE, shardOfSource(spaceName, sourceUrl, callbackArgs, layout.count));
  }
  if (notification) return to(NOTIFICATIONS_QUEUE, dl.shard);
  return { problem: 'it carries neither an event body, a re-upload nor a notification to repeat' };
}

/** The shard the ingress routes this callback text to; undefined when it is not JSON. */
function shardOfBody(body: string, count: number): number | undefined {
  try {
    return shardOfEvent(JSON.parse(body), count);
  } catch {
    return undefined;
  }
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
    await ctx.queue<EventJobData>(EVENTS_QUEUE, plan.shard).add(EVENT_JOB_NAME, data, {
      ...eventJobOptions(ctx.config),
      jobId: plan.jobId,
    });
  } else if (plan.queue === NOTIFICATIONS_QUEUE) {
    // The same data, so the same webhook-id: a receiver that did get it after all drops the repeat.
    // A fresh attempt budget; pending again until delivered (the job first, see oldestPendingNotificationMs).
    await ctx
      .queue<NotificationJobData>(NOTIFICATIONS_QUEUE, plan.shard)
      .add(NOTIFICATION_JOB_NAME, dl.data.notification as NotificationJobData, {
        ...notificationJobOptions(ctx.config.OUTCOME_WEBHOOK_MAX_ATTEMPTS),
        jobId: plan.jobId,
      });
    await ctx.redis.zadd(ctx.keysOf(plan.shard).pendingNotifications, ctx.now(), plan.jobId);
  } else {
    const data: ReuploadJobData = { ...(dl.data.reupload as ReuploadJobData), scheduledAt: ctx.now() };
    await ctx.queue<ReuploadJobData>(REUPLOADS_QUEUE, plan.shard).add(REUPLOAD_JOB_NAME, data, {
      ...reuploadJobOptions(ctx.config),
      jobId: plan.jobId,
    });
  }
  await removeDeadLetter(ctx, dl);
}

/** Selector of dead letters: one (by `<shard>/<id>` or a bare id), a reason, or all. */
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
