import { Webhook } from 'standardwebhooks';
import { envBool, envInt, envList, envString } from './env-config.js';
import { DECISIONS, type Decision, type OutcomeRecord } from './outcome.js';
import { stableHash } from './queues.js';

/** An outcome record as it is delivered: the record plus its id in the outcomes stream. */
export interface DeliveredOutcome extends OutcomeRecord {
  /** Id of the record in `<prefix>:outcomes`. */
  outcomeId: string;
}

/** Job data of `vod-notifications`: written by the outcome record script, in the same atomic step. */
export interface NotificationJobData {
  /** Standard Webhooks `webhook-id`: derived from the outcome, the same on every retry and replay. */
  webhookId: string;
  outcome: DeliveredOutcome;
}

/** The body of an outcome webhook (Standard Webhooks payload structure). */
export interface OutcomeWebhookPayload {
  /** `vod.upload.<decision>`, or `vod.webhook.test` for `vodctl webhooks test`. */
  type: string;
  /** ISO time of the event: when the outcome was recorded. */
  timestamp: string;
  data: DeliveredOutcome | Record<string, unknown>;
}

/** Decisions delivered unless OUTCOME_WEBHOOK_EVENTS says otherwise: the final ones. */
export const DEFAULT_WEBHOOK_DECISIONS: readonly Decision[] = [
  'succeeded',
  'failed_permanent',
  'retries_exhausted',
  'dead_lettered',
];

/** The hash both the `webhook-id` and the notification's job id are made of. */
function outcomeHash(dedupeKey: string): string {
  return stableHash('outcome-webhook', dedupeKey);
}

/**
 * `webhook-id` of the outcome recorded under `dedupeKey`. The record script writes one outcome per
 * dedupe key, so the id names one outcome, and a notification retried, recovered after a crash or
 * replayed by `vodctl` carries the same id: a receiver drops duplicates by it.
 */
export function webhookIdOf(dedupeKey: string): string {
  return `msg_${outcomeHash(dedupeKey)}`;
}

/** BullMQ job id of that outcome's notification (a second add of the same id is a no-op). */
export function notificationJobIdOf(dedupeKey: string): string {
  return `wh-${outcomeHash(dedupeKey)}`;
}

/** The `type` of an outcome's webhook. */
export function webhookTypeOf(decision: Decision): string {
  return `vod.upload.${decision}`;
}

/** The JSON body sent for a notification. */
export function webhookPayloadOf(data: NotificationJobData): OutcomeWebhookPayload {
  return {
    type: webhookTypeOf(data.outcome.decision),
    timestamp: data.outcome.processedAt,
    data: data.outcome,
  };
}

/**
 * The three Standard Webhooks headers for `body`, signed at `now` with the `whsec_…` secret. The
 * timestamp is the time of sending (receivers reject old ones), the id stays the outcome's.
 */
export function signWebhook(
  secret: string,
  webhookId: string,
  body: string,
  now: Date = new Date(),
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(webhookId, now, body),
  };
}

/** Checks OUTCOME_WEBHOOK_EVENTS (split at load); throws on a name that is not a decision. */
export function parseWebhookDecisions(names: readonly string[]): ReadonlySet<Decision> {
  for (const name of names) {
    if (!DECISIONS.includes(name as Decision)) {
      throw new Error(`${JSON.stringify(name)} is not a decision (one of ${DECISIONS.join(', ')})`);
    }
  }
  return new Set(names as Decision[]);
}

/** True for a secret the Standard Webhooks signer accepts: `whsec_` + base64 of at least 24 bytes. */
export function isWebhookSecret(secret: string): boolean {
  const b64 = secret.startsWith('whsec_') ? secret.slice(6) : '';
  return /^[A-Za-z0-9+/]+={0,2}$/.test(b64) && Buffer.from(b64, 'base64').length >= 24;
}

/** Outcome webhook settings, read by the worker (delivery) and `vodctl` (`webhooks test`). */
export const OUTCOME_WEBHOOK_ENV = {
  OUTCOME_WEBHOOK_URL: envString(
    '',
    'Where outcome webhooks are POSTed (http or https); unset = no webhooks.',
  ),
  OUTCOME_WEBHOOK_SECRET: envString(
    '',
    'Standard Webhooks signing secret (`whsec_` + base64, ≥ 24 bytes); required with OUTCOME_WEBHOOK_URL.',
  ),
  OUTCOME_WEBHOOK_EVENTS: envList(
    DEFAULT_WEBHOOK_DECISIONS,
    'Comma-separated decisions delivered (add `reupload_scheduled` to hear about re-uploads too).',
    { minItems: 1 },
  ),
  OUTCOME_WEBHOOK_ALLOW_PRIVATE: envBool(
    false,
    'Allow a URL resolving to loopback, link-local or private addresses (refused otherwise, at start and at every send).',
  ),
  OUTCOME_WEBHOOK_BACKOFF_MS: envInt(
    10000,
    'First retry delay of a failed delivery; doubles per retry up to OUTCOME_WEBHOOK_BACKOFF_MAX_MS, with jitter (50–100 %).',
    10,
    24 * 3600 * 1000,
  ),
  OUTCOME_WEBHOOK_BACKOFF_MAX_MS: envInt(
    3600000,
    'Longest delay between two delivery attempts (a longer Retry-After is honoured up to 24 h).',
    10,
    24 * 3600 * 1000,
  ),
  OUTCOME_WEBHOOK_MAX_ATTEMPTS: envInt(
    40,
    'Delivery attempts before a notification is dead-lettered (webhook_exhausted); the default spans about 24 h.',
    1,
    1000,
  ),
  OUTCOME_WEBHOOK_TIMEOUT_MS: envInt(
    10000,
    'Time allowed per delivery request (connect to answer); a timeout is retried.',
    100,
    300000,
  ),
  OUTCOME_WEBHOOK_CONCURRENCY: envInt(
    10,
    'Most deliveries in flight to the destination, across all worker processes and event shards (each shard gets an equal share, at least 1).',
    1,
    1000,
  ),
  OUTCOME_WEBHOOK_RATE_PER_SECOND: envInt(
    50,
    'Most delivery attempts per second to the destination, across all worker processes and event shards (each shard gets an equal share, rounded down).',
    1,
    100000,
  ),
} as const;
