import { DEFAULT_WEBHOOK_DECISIONS, type OutcomeRecord, outcomeFromFields } from '@vod-callbacks/shared';
import type { WebhookReceiver } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { reportFigures } from '../support/figures.js';
import { type Pipeline, postCallback, uploadEvent } from '../support/pipeline.js';

/** Worker settings that send outcome webhooks to `receiver`, with a short retry schedule for tests. */
export function webhookEnv(
  receiver: WebhookReceiver,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    OUTCOME_WEBHOOK_URL: receiver.url,
    OUTCOME_WEBHOOK_SECRET: receiver.secret,
    OUTCOME_WEBHOOK_ALLOW_PRIVATE: 'true',
    OUTCOME_WEBHOOK_BACKOFF_MS: '100',
    OUTCOME_WEBHOOK_BACKOFF_MAX_MS: '1000',
    OUTCOME_WEBHOOK_TIMEOUT_MS: '2000',
    ...extra,
  };
}

/** An outcome record as read back from the stream, with its id. */
export type StoredOutcome = OutcomeRecord & { outcomeId: string };

/** Every outcome recorded under `prefix` whose decision gets a webhook by default. */
export async function finalOutcomes(p: Pick<Pipeline, 'redisUrl' | 'prefix'>): Promise<StoredOutcome[]> {
  const redis = new Redis(p.redisUrl);
  try {
    const entries = await redis.xrange(`${p.prefix}:outcomes`, '-', '+');
    return entries
      .map(([id, fields]) => ({ ...outcomeFromFields(fields), outcomeId: id }))
      .filter((o) => DEFAULT_WEBHOOK_DECISIONS.includes(o.decision));
  } finally {
    redis.disconnect();
  }
}

/**
 * The receiver's deliveries checked against the recorded outcomes: which outcomes were never
 * delivered, which webhook-ids were delivered more than once, and which deliveries name no outcome.
 */
export function deliveryVerdict(receiver: WebhookReceiver, outcomes: readonly StoredOutcome[]) {
  const delivered = receiver.delivered();
  const byOutcome = new Map<string, string>();
  for (const [id, copies] of delivered) byOutcome.set(String(copies[0]!.payload.data.outcomeId), id);
  const known = new Set(outcomes.map((o) => o.outcomeId));
  return {
    outcomes: outcomes.length,
    deliveredIds: delivered.size,
    missing: outcomes.filter((o) => !byOutcome.has(o.outcomeId)).map((o) => o.requestId),
    repeated: [...delivered].filter(([, copies]) => copies.length > 1).map(([id]) => id),
    unknown: [...byOutcome.keys()].filter((id) => !known.has(id)),
  };
}

/**
 * Sends a realistic mix: successes, permanent failures, retryable failures (re-uploads that are
 * dead-lettered for lack of credentials), unknown codes, invalid payloads, and redeliveries of
 * some successes. Returns how many final outcomes it should yield.
 */
export async function sendRealisticMix(
  ingressUrl: string,
  n = { success: 30, permanent: 8, retryable: 6, unknown: 3, invalid: 3, redelivered: 5 },
  callbackArgs = '',
): Promise<{ finalOutcomes: number; successes: ReturnType<typeof uploadEvent>[] }> {
  const bodies: unknown[] = [];
  const successes: ReturnType<typeof uploadEvent>[] = [];
  const withArgs = (e: ReturnType<typeof uploadEvent>) => {
    e.Data.CallbackArgs = callbackArgs;
    return e;
  };
  for (let i = 0; i < n.success; i++) {
    const e = withArgs(uploadEvent('Success'));
    successes.push(e);
    bodies.push(e);
  }
  for (let i = 0; i < n.permanent; i++)
    bodies.push(withArgs(uploadEvent('DownloadFailed.UrlDownloadFail', '404')));
  for (let i = 0; i < n.retryable; i++)
    bodies.push(withArgs(uploadEvent('InternalError.UrlUploadError', 'upload to storage failed')));
  for (let i = 0; i < n.unknown; i++) bodies.push(withArgs(uploadEvent('Brand.NewCode', 'never seen')));
  for (let i = 0; i < n.invalid; i++) bodies.push({ RequestId: `req-invalid-${i}-${Date.now()}` });
  for (let i = 0; i < n.redelivered; i++) bodies.push(successes[i]);
  const statuses = await Promise.all(bodies.map((b) => postCallback(ingressUrl, b)));
  if (statuses.some((s) => s !== 200)) throw new Error(`unexpected statuses ${statuses.join(',')}`);
  return { finalOutcomes: n.success + n.permanent + n.retryable + n.unknown + n.invalid, successes };
}

/** Prints one line of figures and appends it to test-output/webhook-figures.jsonl. */
export function reportWebhooks(test: string, figures: Record<string, unknown>): void {
  reportFigures('webhooks', 'webhook-figures.jsonl', { test, ...figures });
}
