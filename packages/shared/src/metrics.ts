import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { SIGNATURE_KEYS } from './callback-signature.js';
import { DEAD_LETTER_REASONS, type QueueName } from './queues.js';
import type { CodeClass } from './retry-policy.js';

/*
 * Label values are bounded by construction: every label below takes its values from a closed list
 * (the unions and constants in this file and in queues.ts), a code known only by a retry-policy
 * prefix becomes `<prefix>*`, codes outside the catalogue become `other`, and nothing user-controlled (RequestId, URL, space) is ever a label.
 * README "Metrics" lists the values; dashboards and alerts (deploy/) rely on them.
 */

/**
 * `vod_callbacks_received_total{result}` values: how the ingress answered. accepted = 200 (stored;
 * redelivered duplicates too), invalid = other 4xx (400/404/405/408), unauthorized = 401,
 * too_large = 413, unsupported_media_type = 415, rate_limited = 429, unavailable = 503 (Redis did
 * not take it in time), replication_timeout = 503 (stored, but not acknowledged by
 * REDIS_MIN_REPLICAS replicas in time), error = any other 5xx.
 */
export type ReceiveResult =
  | 'accepted'
  | 'invalid'
  | 'unauthorized'
  | 'too_large'
  | 'unsupported_media_type'
  | 'unavailable'
  | 'replication_timeout'
  | 'rate_limited'
  | 'error';

/** `vod_events_processed_total{class}` values: a code class, or what happened before classification. */
export type ProcessedClass = CodeClass | 'invalid' | 'duplicate' | 'unsupported';

/** `vod_reupload_requests_total{result}` values. */
export const REUPLOAD_REQUEST_RESULTS = ['accepted', 'retried', 'rejected', 'no_credentials'] as const;
export type ReuploadRequestResult = (typeof REUPLOAD_REQUEST_RESULTS)[number];

/** `vod_reconciled_uploads_total{result}` values: what QueryUploadTaskInfo said about a pending upload. */
export const RECONCILE_RESULTS = ['success', 'failed', 'running', 'not_found', 'error'] as const;
export type ReconcileResult = (typeof RECONCILE_RESULTS)[number];

/**
 * `vod_webhook_deliveries_total{result}` values, one per delivery attempt: delivered = 2xx,
 * retried = a retryable failure (408, 429, 5xx, timeout, network) that will be tried again,
 * rejected = refused for good (other 4xx, a redirect, a private address) and dead-lettered,
 * exhausted = a retryable failure on the last attempt, dead-lettered.
 */
export const WEBHOOK_DELIVERY_RESULTS = ['delivered', 'retried', 'rejected', 'exhausted'] as const;
export type WebhookDeliveryResult = (typeof WEBHOOK_DELIVERY_RESULTS)[number];

/** `vod_queue_jobs{state}` values. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** Label value for a code outside the catalogue, so a misbehaving sender cannot explode cardinality. */
export const OTHER_CODE = 'other';

// Ack latency is dominated by one Redis round trip (sub-ms) and capped by ENQUEUE_TIMEOUT_MS (2 s):
// fine buckets below 10 ms, coarse ones up to the timeout. 0.5 is a boundary because VodAckLatencyHigh
// alerts on p99 > 0.5 s; histogram_quantile is exact only at boundaries.
const ACK_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
// Processing is a few Redis calls (milliseconds); the top buckets catch a slow Redis or a stuck job.
const PROCESSING_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// EventTime has second precision, so sub-second buckets would be noise; the top end covers a
// backlog of hours and VOD's 45 s redelivery window sits between 30 and 60.
const LAG_BUCKETS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];
// A webhook request is one HTTP round trip to the customer (tens of ms) up to OUTCOME_WEBHOOK_TIMEOUT_MS
// (10 s by default, hence the 10 boundary); 1 s is where a receiver starts to look slow.
const WEBHOOK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A registry with default process metrics and a `service` label on every series. */
export function createRegistry(service: 'ingress' | 'worker' | 'simulator'): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Metrics of the ingress (result children pre-created at 0, see initIngressLabels). */
export function createIngressMetrics(registry: Registry) {
  const metrics = {
    /** Callbacks received, by how the ingress answered. */
    received: new Counter<'result'>({
      name: 'vod_callbacks_received_total',
      help: 'Callbacks received by the ingress, by result (accepted = stored in Redis and acknowledged).',
      labelNames: ['result'],
      registers: [registry],
    }),
    /** Good callback signatures by the key that matched (a rotation is done when `previous` stays at 0). */
    signatureKey: new Counter<'key'>({
      name: 'vod_callback_signature_key_total',
      help: 'Callbacks whose signature matched, by key: current = CALLBACK_PRIVATE_KEY, previous = CALLBACK_PRIVATE_KEY_PREVIOUS.',
      labelNames: ['key'],
      registers: [registry],
    }),
    /** 1 while callback signatures are checked, 0 when CALLBACK_AUTH=none accepts unsigned ones. */
    authEnabled: new Gauge({
      name: 'vod_callback_auth_enabled',
      help: 'Whether the ingress checks callback signatures: 1 = required (CALLBACK_AUTH=signature), 0 = unsigned callbacks accepted (CALLBACK_AUTH=none).',
      registers: [registry],
    }),
    /** Time from request start to the answer of POST /callbacks/vod. */
    ackSeconds: new Histogram({
      name: 'vod_callback_ack_seconds',
      help: 'Seconds from receiving a callback to answering it (any status).',
      buckets: ACK_BUCKETS,
      registers: [registry],
    }),
  };
  initIngressLabels(metrics);
  return metrics;
}
export type IngressMetrics = ReturnType<typeof createIngressMetrics>;

/** Metrics of the worker. */
export function createWorkerMetrics(registry: Registry) {
  return {
    /** Events processed, by code (catalogue codes, `<prefix>*` or `other`) and class. */
    processed: new Counter<'code' | 'class'>({
      name: 'vod_events_processed_total',
      help: 'Events processed by the worker, by result code (codes known only by a prefix as "<prefix>*", unknown ones as "other") and class.',
      labelNames: ['code', 'class'],
      registers: [registry],
    }),
    /** Time the event processor spent on one job. */
    processingSeconds: new Histogram({
      name: 'vod_event_processing_seconds',
      help: 'Seconds the worker spent processing one event.',
      buckets: PROCESSING_BUCKETS,
      registers: [registry],
    }),
    /** Now minus the event's EventTime when processing finished (second precision). */
    lagSeconds: new Histogram({
      name: 'vod_event_lag_seconds',
      help: 'Seconds from the event EventTime to the end of its processing (EventTime has second precision).',
      buckets: LAG_BUCKETS,
      registers: [registry],
    }),
    /** Re-uploads put on the delayed queue. */
    reuploadsScheduled: new Counter({
      name: 'vod_reuploads_scheduled_total',
      help: 'Re-upload jobs scheduled for retryable failures.',
      registers: [registry],
    }),
    /** UploadMediaByUrl calls made by the re-upload processor, by result. */
    reuploadRequests: new Counter<'result'>({
      name: 'vod_reupload_requests_total',
      help: 'UploadMediaByUrl requests made for re-uploads, by result (accepted, retried, rejected, no_credentials).',
      labelNames: ['result'],
      registers: [registry],
    }),
    /** Retryable failures whose attempt budget was spent. */
    retriesExhausted: new Counter({
      name: 'vod_retries_exhausted_total',
      help: 'Retryable failures not re-uploaded because REUPLOAD_MAX_ATTEMPTS was reached.',
      registers: [registry],
    }),
    /** Dead letters written, by reason. */
    deadLetters: new Counter<'reason'>({
      name: 'vod_dead_letters_total',
      help: 'Jobs dead-lettered for a person to look at, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    /** Outcome webhook delivery attempts, by result (see WebhookDeliveryResult). */
    webhookDeliveries: new Counter<'result'>({
      name: 'vod_webhook_deliveries_total',
      help: 'Outcome webhook delivery attempts, by result (delivered, retried, rejected, exhausted).',
      labelNames: ['result'],
      registers: [registry],
    }),
    /** Duration of one webhook request (connect to the end of the answer, or the failure). */
    webhookDeliverySeconds: new Histogram({
      name: 'vod_webhook_delivery_seconds',
      help: 'Seconds one outcome webhook request took, whatever its result.',
      buckets: WEBHOOK_BUCKETS,
      registers: [registry],
    }),
    /** Pending uploads looked up with QueryUploadTaskInfo, by what was found. */
    reconciled: new Counter<'result'>({
      name: 'vod_reconciled_uploads_total',
      help: 'Pending uploads looked up with QueryUploadTaskInfo because no callback came, by result (success, failed, running, not_found, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** Metrics of a process's Redis connection (ingress and worker). */
export function createRedisMetrics(registry: Registry) {
  return {
    /** Times the main connection was ready again after a loss (a restart, a blip, a failover). */
    reconnects: new Counter({
      name: 'vod_redis_reconnects_total',
      help: 'Times the Redis connection was re-established after a loss (restart, network, Sentinel failover).',
      registers: [registry],
    }),
    /** Writes REDIS_MIN_REPLICAS replicas did not acknowledge in time. */
    replicationTimeouts: new Counter({
      name: 'vod_replication_timeouts_total',
      help: 'Writes not acknowledged by REDIS_MIN_REPLICAS replicas in time (ingress: batches answered 503; worker: outcome batches whose jobs failed and are retried).',
      registers: [registry],
    }),
    /** Online replicas of the master, as last seen (only polled when REDIS_MIN_REPLICAS > 0). */
    connectedReplicas: new Gauge({
      name: 'vod_redis_connected_replicas',
      help: 'Replicas online on the Redis master, as last polled (-1 = unknown; polled only when REDIS_MIN_REPLICAS > 0, else 0).',
      registers: [registry],
    }),
  };
}
export type RedisMetrics = ReturnType<typeof createRedisMetrics>;

/**
 * Bounded `code` label: what the catalogue calls the code (the code itself when the policy names it,
 * `<prefix>*` when only a prefix covers it; see CodeClassifier.catalogueLabel), anything else `other`.
 */
export function codeLabel(code: string, catalogueLabel: (code: string) => string | undefined): string {
  const label = catalogueLabel(code);
  return label !== undefined && label.length <= 64 ? label : OTHER_CODE;
}

/**
 * Pre-creates every label child of the bounded counters at 0. Dashboards then show zeros instead of
 * "no data", and `increase()`/`rate()` see the first event (a series born at 1 has no earlier
 * sample, so its first increment would be invisible to alerts such as VodDeadLetters).
 */
export function initWorkerLabels(metrics: WorkerMetrics): void {
  for (const reason of DEAD_LETTER_REASONS) metrics.deadLetters.labels(reason).inc(0);
  for (const result of REUPLOAD_REQUEST_RESULTS) metrics.reuploadRequests.labels(result).inc(0);
  for (const result of RECONCILE_RESULTS) metrics.reconciled.labels(result).inc(0);
  for (const result of WEBHOOK_DELIVERY_RESULTS) metrics.webhookDeliveries.labels(result).inc(0);
}

/**
 * `vod_webhook_oldest_pending_seconds`: age of the oldest outcome notification not yet delivered
 * nor dead-lettered (0 when none), read at scrape time from `oldestPendingMs()` (epoch ms of the
 * oldest, undefined when none). A scrape that cannot read it (Redis down) keeps the last value.
 */
export function createWebhookPendingMetric(
  registry: Registry,
  oldestPendingMs: () => Promise<number | undefined>,
  now: () => number = Date.now,
) {
  return new Gauge({
    name: 'vod_webhook_oldest_pending_seconds',
    help: 'Age in seconds of the oldest outcome webhook not yet delivered or dead-lettered (0 when none).',
    registers: [registry],
    async collect() {
      try {
        const oldest = await oldestPendingMs();
        this.set(oldest === undefined ? 0 : Math.max(0, (now() - oldest) / 1000));
      } catch {
        // keep the last value: an unknown age must not read as "nothing pending"
      }
    },
  });
}

/** Pre-creates the ingress's result children at 0 (see initWorkerLabels for why). */
export function initIngressLabels(metrics: IngressMetrics): void {
  for (const result of [
    'accepted',
    'invalid',
    'unauthorized',
    'too_large',
    'unsupported_media_type',
    'unavailable',
    'replication_timeout',
    'rate_limited',
    'error',
  ] satisfies ReceiveResult[]) {
    metrics.received.labels(result).inc(0);
  }
  for (const key of SIGNATURE_KEYS) metrics.signatureKey.labels(key).inc(0);
}

/** Snapshot of one queue, as read from BullMQ. */
export interface QueueSnapshot {
  queue: QueueName;
  /** Index of the event shard (EVENT_SHARDS), as a label value: bounded by the shard count. */
  shard: string;
  counts: Partial<Record<QueueState, number>>;
  /** Age in seconds of the oldest waiting job, 0 when none waits. */
  oldestWaitingSeconds: number;
  /**
   * True while the queue is paused. BullMQ 6 keeps a paused queue's jobs in `wait`, so the waiting
   * count alone cannot tell a backlog apart from a paused queue (an autoscaler must not add workers for it).
   */
  paused: boolean;
}

/**
 * Queue gauges, filled at scrape time from `snapshot()`, whose result is cached for `cacheMs` so
 * many scrapers (several Prometheus replicas, dashboards) cost Redis one read per interval. A
 * snapshot slower than `timeoutMs` (Redis down) yields no queue series rather than a hung scrape.
 */
export function createQueueMetrics(
  registry: Registry,
  snapshot: () => Promise<QueueSnapshot[]>,
  cacheMs = 2000,
  timeoutMs = 1000,
) {
  const withTimeout = (): Promise<QueueSnapshot[]> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('queue snapshot timed out')), timeoutMs);
      snapshot().then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  let cached: { at: number; value: Promise<QueueSnapshot[]> } | undefined;
  const read = (): Promise<QueueSnapshot[]> => {
    const now = Date.now();
    if (!cached || now - cached.at > cacheMs) {
      const value = withTimeout();
      cached = { at: now, value };
      value.catch(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };
  const jobs = new Gauge<'queue' | 'shard' | 'state'>({
    name: 'vod_queue_jobs',
    help: 'Jobs per queue, event shard and state, read from Redis at scrape time (cached briefly).',
    labelNames: ['queue', 'shard', 'state'],
    registers: [registry],
    async collect() {
      const snaps = await read().catch(() => []);
      this.reset();
      for (const s of snaps)
        for (const [state, n] of Object.entries(s.counts)) this.labels(s.queue, s.shard, state).set(n);
    },
  });
  /** A gauge with one series per queue and shard, valued by `measure` of its snapshot. */
  const perQueueAndShard = (name: string, help: string, measure: (s: QueueSnapshot) => number) =>
    new Gauge<'queue' | 'shard'>({
      name,
      help,
      labelNames: ['queue', 'shard'],
      registers: [registry],
      async collect() {
        const snaps = await read().catch(() => []);
        this.reset();
        for (const s of snaps) this.labels(s.queue, s.shard).set(measure(s));
      },
    });
  const oldest = perQueueAndShard(
    'vod_queue_oldest_waiting_seconds',
    'Age in seconds of the oldest waiting job per queue and event shard (0 when none waits).',
    (s) => s.oldestWaitingSeconds,
  );
  const paused = perQueueAndShard(
    'vod_queue_paused',
    'Queue paused (1) or not (0) per event shard; a paused queue keeps its jobs in waiting.',
    (s) => (s.paused ? 1 : 0),
  );
  return { jobs, oldest, paused };
}

export type { Registry };
