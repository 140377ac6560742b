import type { JobsOptions } from 'bullmq';
import { type ConfigOf, envInt, loadConfig } from './env-config.js';

/**
 * Variables of `vod-events` jobs, read by every process that adds one: the ingress (callbacks), the
 * worker (reconciled events) and `vodctl` (replays, reconcile).
 */
export const EVENT_JOB_ENV = {
  EVENT_JOB_ATTEMPTS: envInt(
    10,
    'Times the worker tries an event job before dead-lettering it (processing_error). Ingress, worker (reconciled events) and vodctl (replays) all add event jobs: set it alike.',
    1,
    100,
  ),
  EVENT_JOB_KEEP_COMPLETED: envInt(
    1000,
    'Completed vod-events jobs kept (older ones are removed; re-upload jobs are kept a day, dead letters until removed).',
    0,
    1_000_000,
  ),
} as const;

/** Variables of `vod-reuploads` jobs, read by the worker and by `vodctl dlq replay`. */
export const REUPLOAD_JOB_ENV = {
  REUPLOAD_API_ATTEMPTS: envInt(
    8,
    'Tries of a re-upload whose API call failed retryably (throttling, 5xx, network) before it is dead-lettered.',
    1,
    100,
  ),
  REUPLOAD_API_BACKOFF_MS: envInt(2000, 'Base of the exponential delay between those tries.', 10, 3600000),
} as const;

export type EventJobSettings = ConfigOf<typeof EVENT_JOB_ENV>;
export type ReuploadJobSettings = ConfigOf<typeof REUPLOAD_JOB_ENV>;

/** The settings every variable left at its default gives (tests, tools without a config). */
export const DEFAULT_JOB_SETTINGS: EventJobSettings & ReuploadJobSettings = loadConfig(
  { ...EVENT_JOB_ENV, ...REUPLOAD_JOB_ENV },
  {},
);

// Failed jobs are dead-lettered by the worker; the failed job is kept a week as evidence, bounded.
const KEEP_FAILED = { age: 7 * 24 * 3600, count: 100_000 };

/** Options of every `vod-events` job, whoever adds it: a callback, a replay, a reconciled event. */
export function eventJobOptions(settings: EventJobSettings): JobsOptions {
  return {
    attempts: settings.EVENT_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { count: settings.EVENT_JOB_KEEP_COMPLETED },
    removeOnFail: KEEP_FAILED,
  };
}

/**
 * Options of every `vod-reuploads` job, scheduled or replayed. Attempts cover API calls that fail
 * retryably (see the re-upload processor). Completed jobs are kept a day: the job id derives from the
 * triggering event, so a retried event job re-adding it is a no-op while the id is still known.
 */
export function reuploadJobOptions(settings: ReuploadJobSettings): JobsOptions {
  return {
    attempts: settings.REUPLOAD_API_ATTEMPTS,
    backoff: { type: 'exponential', delay: settings.REUPLOAD_API_BACKOFF_MS },
    removeOnComplete: { age: 24 * 3600, count: 100_000 },
    removeOnFail: KEEP_FAILED,
  };
}

/**
 * Options of every `vod-notifications` job (OUTCOME_WEBHOOK_MAX_ATTEMPTS; the delays come from the
 * worker's `webhook` backoff strategy). Delivered ones are kept a day: their id then still collapses
 * a re-add. One that fails for good leaves a dead letter, which is what `vodctl webhooks` works from.
 */
export function notificationJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'webhook' },
    removeOnComplete: { age: 24 * 3600, count: 100_000 },
    removeOnFail: KEEP_FAILED,
  };
}

/** Options of a dead letter: nothing consumes them, they wait for a person (`vodctl dlq`). */
export const DEAD_LETTER_JOB_OPTIONS: JobsOptions = { removeOnComplete: true, removeOnFail: false };
