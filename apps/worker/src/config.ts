import {
  COMMON_ENV,
  ConfigError,
  type ConfigOf,
  type Decision,
  EVENT_JOB_ENV,
  envEnum,
  envInt,
  envList,
  envString,
  isWebhookSecret,
  loadConfig,
  OUTCOME_WEBHOOK_ENV,
  parseWebhookDecisions,
  parseWebhookUrl,
  QUEUE_RETENTION_ENV,
  REPLICATION_ENV,
  REUPLOAD_JOB_ENV,
  UPLOAD_BY_URL_COMPLETE,
} from '@vod-callbacks/shared';
import { VOD_API_ENV } from '@vod-callbacks/vod-client';
import type { ReuploadScope } from './decide.js';

/** Every variable the worker reads, with its default and doc (README's table is built from these). */
export const WORKER_ENV = {
  ...COMMON_ENV,
  ...QUEUE_RETENTION_ENV,
  ...EVENT_JOB_ENV,
  ...REPLICATION_ENV,
  REDIS_MIN_REPLICAS_TIMEOUT_MS: envInt(
    2000,
    'Longest wait for REDIS_MIN_REPLICAS replicas to acknowledge an outcome; then the job fails and is retried.',
    10,
    60000,
  ),
  WORKER_CONCURRENCY: envInt(
    10,
    'Event jobs processed at once per worker process, in each event shard it consumes.',
    1,
    1000,
  ),
  WORKER_SHARDS: envList(
    [],
    'Event shards this worker consumes (comma-separated indexes below EVENT_SHARDS, e.g. `0,2`); empty = every shard.',
    { pattern: '^[0-9]{1,2}$' },
  ),
  WORKER_METRICS_HOST: envString('0.0.0.0', 'Address of the worker metrics server.'),
  WORKER_METRICS_PORT: envInt(
    9464,
    'Port of the worker metrics server (/metrics, /healthz, /readyz); 0 = any free port.',
    0,
    65535,
  ),
  WORKER_SHUTDOWN_TIMEOUT_MS: envInt(
    30000,
    'On SIGTERM, how long running jobs may take to finish before the worker exits anyway (their jobs are picked up again after WORKER_LOCK_MS); keep a deployment’s grace period above it.',
    1000,
    3600000,
  ),
  WORKER_LOCK_MS: envInt(
    30000,
    'BullMQ job lock; a killed worker’s job is picked up again after about this long.',
    1000,
    600000,
  ),
  DEDUPE_TTL_SECONDS: envInt(
    604800,
    'How long a processed RequestId is remembered (duplicates within it are dropped).',
    60,
    90 * 86400,
  ),
  ACCEPTED_EVENT_TYPES: envList(
    [UPLOAD_BY_URL_COMPLETE],
    'Comma-separated EventType values processed; others are unsupported.',
    { minItems: 1 },
  ),
  UNSUPPORTED_EVENT_ACTION: envEnum(
    ['dead_letter', 'ignore'],
    'dead_letter',
    'What to do with other event types: dead-letter them (reason unsupported_event) or count and ignore.',
  ),
  RETRY_POLICY_FILE: envString('', 'JSON file overlaying the default code → class policy (see README).'),
  REUPLOAD_DEFAULTS_FILE: envString(
    '',
    'JSON file of per-space UploadMediaByUrl fields for re-uploads (Templates, ClassificationId, StorageClass, Tags, Title, CustomURLHeaders …; README); secrets as {"env": "NAME"}.',
  ),
  REUPLOAD_MAX_ATTEMPTS: envInt(
    3,
    'Uploads per source in all (the original counts as 1) before retries_exhausted.',
    1,
    100,
  ),
  REUPLOAD_BACKOFF_MS: envInt(
    30000,
    'Base of the exponential re-upload delay (with jitter).',
    0,
    24 * 3600 * 1000,
  ),
  REUPLOAD_RATE_PER_SECOND: envInt(
    50,
    'Most UploadMediaByUrl calls per second, across all workers and event shards (each shard gets an equal share, rounded down; VOD quota: 500 QPS).',
    1,
    500,
  ),
  ...VOD_API_ENV,
  REUPLOAD_SPACES: envString(
    '',
    'Comma-separated SpaceNames re-uploads may go into; a retryable callback naming another is dead-lettered (reupload_not_allowed). Required when VOLC_ACCESSKEY/VOLC_SECRETKEY are set.',
  ),
  REUPLOAD_URL_HOSTS: envString(
    '',
    'Comma-separated SourceUrl hosts re-uploads may pull from (`cdn.example.com`, `*.example.com` for subdomains); empty = any host.',
  ),
  REUPLOAD_CONCURRENCY: envInt(
    20,
    'Re-upload jobs handled at once per worker process; due ones of the same space share UploadMediaByUrl calls (≤ 20 URLs each).',
    1,
    200,
  ),
  REUPLOAD_BATCH_WAIT_MS: envInt(
    50,
    'How long a due re-upload waits for others of the same space to share its UploadMediaByUrl call.',
    0,
    10000,
  ),
  ...REUPLOAD_JOB_ENV,
  RECONCILE_AFTER_SECONDS: envInt(
    600,
    'A re-upload whose callback has not come after this long is looked up with QueryUploadTaskInfo (VOD gives up redelivering after ~45 s).',
    1,
    30 * 86400,
  ),
  RECONCILE_INTERVAL_SECONDS: envInt(
    30,
    'How often one of the worker processes looks for such uploads (a Redis lock picks one per interval).',
    1,
    86400,
  ),
  RECONCILE_GIVE_UP_SECONDS: envInt(
    7 * 86400,
    'A pending JobId VOD keeps answering as not existing is dropped from the pending set this long after it started.',
    60,
    90 * 86400,
  ),
  RECONCILE_MAX_PER_PASS: envInt(200, 'Most pending JobIds looked up per pass (in calls of 20).', 1, 100000),
  ...OUTCOME_WEBHOOK_ENV,
  OUTCOMES_MAX_LEN: envInt(1_000_000, 'Approximate cap of the outcomes stream.', 1000, 100_000_000),
  SOURCE_STATE_TTL_SECONDS: envInt(
    30 * 86400,
    'How long the latest state per source is kept for `vodctl status`.',
    60,
    365 * 86400,
  ),
  PROCESSING_DELAY_MS: envInt(
    0,
    'Test hook: sleep this long inside each event job (fault-injection tests). Keep 0.',
    0,
    600000,
  ),
  PROCESSING_DELAY_AT: envEnum(
    ['before', 'after'],
    'before',
    'Test hook: sleep before processing, or after the outcome is recorded (the window a crash must not double).',
  ),
} as const;

export type WorkerConfig = ConfigOf<typeof WORKER_ENV>;

/** Reads and validates the worker configuration once. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const config = loadConfig(WORKER_ENV, env);
  workerShardsOf(config);
  webhookSettingsOf(config);
  reuploadScopeOf(config);
  return config;
}

/** The shard indexes this worker consumes (WORKER_SHARDS, every shard when empty), ascending. */
export function workerShardsOf(config: WorkerConfig): number[] {
  if (config.WORKER_SHARDS.length === 0) return Array.from({ length: config.EVENT_SHARDS }, (_, i) => i);
  const shards = [...new Set(config.WORKER_SHARDS.map(Number))].sort((a, b) => a - b);
  const outside = shards.find((i) => i >= config.EVENT_SHARDS);
  if (outside !== undefined)
    throw new ConfigError(
      `WORKER_SHARDS names shard ${outside}, but EVENT_SHARDS=${config.EVENT_SHARDS} has shards 0 to ${config.EVENT_SHARDS - 1}`,
    );
  return shards;
}

const HOST_ENTRY = /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/;

/**
 * REUPLOAD_SPACES and REUPLOAD_URL_HOSTS as a scope. With re-upload credentials the spaces are
 * required: a callback names its own space, and anyone able to post one (or a misrouted VOD
 * account) would otherwise choose where VOD pulls a URL into.
 */
export function reuploadScopeOf(config: WorkerConfig): ReuploadScope {
  const list = (v: string) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const spaces = new Set(list(config.REUPLOAD_SPACES));
  if ((config.VOLC_ACCESSKEY || config.VOLC_SECRETKEY) && spaces.size === 0) {
    throw new ConfigError(
      'REUPLOAD_SPACES is not set: with VOLC_ACCESSKEY/VOLC_SECRETKEY the worker re-uploads into the space a callback names. Set REUPLOAD_SPACES to the comma-separated SpaceNames this deployment serves',
    );
  }
  const urlHosts = list(config.REUPLOAD_URL_HOSTS).map((h) => h.toLowerCase());
  const bad = urlHosts.find((h) => !HOST_ENTRY.test(h));
  if (bad !== undefined) {
    throw new ConfigError(
      `REUPLOAD_URL_HOSTS=${JSON.stringify(config.REUPLOAD_URL_HOSTS)} is invalid: ${JSON.stringify(bad)} is not a host name (cdn.example.com) or *.example.com`,
    );
  }
  return { spaces, urlHosts };
}

/** The outcome webhook settings, checked; undefined when OUTCOME_WEBHOOK_URL is not set. */
export function webhookSettingsOf(
  config: WorkerConfig,
): { url: URL; secret: string; decisions: ReadonlySet<Decision> } | undefined {
  if (!config.OUTCOME_WEBHOOK_URL) return undefined;
  let url: URL;
  let decisions: ReadonlySet<Decision>;
  try {
    url = parseWebhookUrl(config.OUTCOME_WEBHOOK_URL);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (!isWebhookSecret(config.OUTCOME_WEBHOOK_SECRET)) {
    throw new ConfigError(
      'OUTCOME_WEBHOOK_SECRET=(hidden) is invalid: with OUTCOME_WEBHOOK_URL it must be whsec_ followed by the base64 of at least 24 random bytes',
    );
  }
  try {
    decisions = parseWebhookDecisions(config.OUTCOME_WEBHOOK_EVENTS);
  } catch (err) {
    throw new ConfigError(`OUTCOME_WEBHOOK_EVENTS is invalid: ${(err as Error).message}`);
  }
  return { url, secret: config.OUTCOME_WEBHOOK_SECRET, decisions };
}

/** ACCEPTED_EVENT_TYPES as a set. */
export function acceptedEventTypes(config: WorkerConfig): ReadonlySet<string> {
  return new Set(config.ACCEPTED_EVENT_TYPES);
}
