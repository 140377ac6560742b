import {
  type DeadLetterReason,
  type DeliveryAttempt,
  type NotificationJobData,
  postWebhook,
  signWebhook,
  type WebhookDeliveryResult,
  type WorkerMetrics,
  webhookPayloadOf,
} from '@vod-callbacks/shared';
import type { Logger } from 'pino';
import type { JobWriters } from '../job-writers.js';
import type { OutcomeStore } from '../outcome-store.js';

/** Where and how outcome webhooks go (from OUTCOME_WEBHOOK_*). */
export interface WebhookTarget {
  url: URL;
  /** `whsec_…` signing secret. */
  secret: string;
  timeoutMs: number;
  allowPrivate: boolean;
}

/** What the notification processor needs. */
export interface NotificationProcessorDeps {
  target: WebhookTarget;
  store: OutcomeStore;
  writers: JobWriters;
  metrics: WorkerMetrics;
  logger: Logger;
  now?: () => number;
}

/** The part of a BullMQ job the processor reads. */
export interface NotificationJobLike {
  id?: string;
  data: NotificationJobData;
  /** Attempts made before this one. */
  attemptsMade: number;
  opts: { attempts?: number };
}

/** What a delivery job came to (a retryable failure throws WebhookRetryError instead). */
export interface NotificationResult {
  result: Exclude<WebhookDeliveryResult, 'retried'>;
  status?: number;
  /** The dead letter written, when not delivered. */
  deadLetterId?: string;
}

/**
 * A delivery attempt that failed retryably: thrown so BullMQ retries the job; the worker's backoff
 * strategy reads `retryAfterMs` (the receiver's Retry-After) from it.
 */
export class WebhookRetryError extends Error {
  override name = 'WebhookRetryError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** One line about an attempt for logs and dead letters: the status or error, and the answer's start. */
export function describeAttempt(attempt: DeliveryAttempt): string {
  const head = attempt.status === undefined ? 'no answer' : `HTTP ${attempt.status}`;
  return attempt.excerpt ? `${head}: ${attempt.excerpt}` : head;
}

/**
 * Delivers one outcome webhook: signs the payload now (receivers reject old timestamps; the
 * webhook-id stays the outcome's), POSTs it, and then: 2xx → done; 408/429/5xx/timeout/network →
 * throw for a retry, or dead letter `webhook_exhausted` on the last attempt; anything else →
 * dead letter `webhook_rejected`. Every path that ends the job takes the notification out of the
 * pending set. A crash after the POST retries the job: delivery is at least once.
 */
export async function processNotification(
  job: NotificationJobLike,
  deps: NotificationProcessorDeps,
): Promise<NotificationResult> {
  const now = deps.now ?? Date.now;
  const { webhookId, outcome } = job.data;
  const body = JSON.stringify(webhookPayloadOf(job.data));
  const headers = signWebhook(deps.target.secret, webhookId, body, new Date(now()));
  const attempt = await postWebhook(deps.target.url, body, headers, {
    timeoutMs: deps.target.timeoutMs,
    allowPrivate: deps.target.allowPrivate,
  });
  deps.metrics.webhookDeliverySeconds.observe(attempt.durationMs / 1000);
  const number = job.attemptsMade + 1;
  const log = { webhookId, requestId: outcome.requestId, decision: outcome.decision, attempt: number };

  if (attempt.verdict === 'delivered') {
    deps.metrics.webhookDeliveries.inc({ result: 'delivered' });
    if (job.id) await deps.store.notificationSettled(job.id);
    deps.logger.debug({ ...log, status: attempt.status, ms: attempt.durationMs }, 'webhook delivered');
    return { result: 'delivered', status: attempt.status };
  }

  const detail = describeAttempt(attempt);
  const last = number >= (job.opts.attempts ?? 1);
  if (attempt.verdict === 'retry' && !last) {
    deps.metrics.webhookDeliveries.inc({ result: 'retried' });
    deps.logger.warn({ ...log, detail, retryAfterMs: attempt.retryAfterMs }, 'webhook failed; will retry');
    throw new WebhookRetryError(detail, attempt.retryAfterMs);
  }

  const result = attempt.verdict === 'rejected' ? 'rejected' : 'exhausted';
  const reason: DeadLetterReason = result === 'rejected' ? 'webhook_rejected' : 'webhook_exhausted';
  const deadLetterId = await deps.writers.deadLetter(`webhook:${job.id ?? webhookId}`, {
    reason,
    detail: `${result === 'rejected' ? 'rejected' : `still failing after ${number} attempts`}: ${detail}`,
    requestId: outcome.requestId,
    notification: job.data,
    deadLetteredAt: now(),
  });
  if (job.id) await deps.store.notificationSettled(job.id);
  deps.metrics.webhookDeliveries.inc({ result });
  deps.metrics.deadLetters.inc({ reason });
  deps.logger.error({ ...log, detail, reason, deadLetterId }, 'webhook dead-lettered');
  return { result, status: attempt.status, deadLetterId };
}
