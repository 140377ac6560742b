import {
  assertBullmqLayout,
  CodeClassifier,
  checkWebhookTarget,
  closeAll,
  configOrExit,
  createQueueMetrics,
  createRedis,
  createRedisMetrics,
  createRegistry,
  createWebhookPendingMetric,
  createWorkerMetrics,
  describeMasters,
  describeTopology,
  exitOnConfigError,
  initWorkerLabels,
  installShutdown,
  listenConfigError,
  loadRetryPolicy,
  loggerOptions,
  logMasterChanges,
  logRedisStateChanges,
  openShardQueues,
  ReplicaAcknowledger,
  redisTopologyOf,
  refuseMissingDatabase,
  refuseShardCountMismatch,
  shardLayoutFor,
  shardMasters,
  shardShareOfCount,
  shardShareOfRate,
  snapshotQueues,
  startReplicaMonitor,
  whenReady,
} from '@vod-callbacks/shared';
import {
  ReuploadDefaults,
  SyntheticEventWriter,
  VodApiClient,
  vodApiOptionsOf,
} from '@vod-callbacks/vod-client';
import { pino } from 'pino';
import { CollapsedDuplicateCounter } from './collapsed-duplicate-counter.js';
import {
  acceptedEventTypes,
  loadWorkerConfig,
  reuploadScopeOf,
  webhookSettingsOf,
  workerShardsOf,
} from './config.js';
import { JobWriters } from './job-writers.js';
import { batchedStdout } from './log-destination.js';
import { startMetricsServer } from './metrics-server.js';
import { OutcomeStore } from './outcome-store.js';
import { Reconciler } from './reconciler.js';
import { ReuploadBudget } from './reupload-budget.js';
import { UploadBatcher } from './upload-batcher.js';
import { UploadTracker } from './upload-tracker.js';
import { WorkerManager } from './worker-manager.js';

// Our Lua scripts write BullMQ jobs themselves: refuse a bullmq whose layout they were not checked against.
assertBullmqLayout();
const config = configOrExit(() => loadWorkerConfig());
const classifier = configOrExit(
  () => new CodeClassifier(loadRetryPolicy(config.RETRY_POLICY_FILE || undefined)),
);
// Header secrets are read from the environment named in the file, here, once.
const reuploadDefaults = configOrExit(() =>
  config.REUPLOAD_DEFAULTS_FILE
    ? ReuploadDefaults.load(config.REUPLOAD_DEFAULTS_FILE, process.env)
    : ReuploadDefaults.none,
);
const logger = pino(loggerOptions('worker', config.LOG_LEVEL), batchedStdout());
const webhook = webhookSettingsOf(config);
if (webhook) {
  // Refuse, before taking any job, a destination inside our own network (sends check again).
  const checked = await checkWebhookTarget(webhook.url, config.OUTCOME_WEBHOOK_ALLOW_PRIVATE).catch(
    (err: Error) => {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(78);
    },
  );
  if (checked.resolveError) {
    logger.warn(
      { host: webhook.url.hostname, err: checked.resolveError },
      'OUTCOME_WEBHOOK_URL does not resolve now; deliveries will retry (and check the address) at send time',
    );
  }
}

// One connection for writes (store, re-upload and dead-letter queues); BullMQ workers make their
// own blocking connections from it. Both wait out Redis outages instead of failing jobs.
const topology = configOrExit(() => redisTopologyOf(config));
const layout = configOrExit(() => shardLayoutFor(topology, config.QUEUE_PREFIX, config.EVENT_SHARDS));
const consumed = configOrExit(() => workerShardsOf(config));
const registry = createRegistry('worker');
const metrics = createWorkerMetrics(registry);
initWorkerLabels(metrics);
const redisMetrics = createRedisMetrics(registry);

const redis = createRedis(topology, 'worker', 'worker');
logMasterChanges(redis, logger, layout.prefixes, () => redisMetrics.reconnects.inc());
// The replica count for /readyz is polled on a connection of its own (each consumed shard's master).
const replicas = startReplicaMonitor(
  topology,
  config.REDIS_MIN_REPLICAS,
  'worker-replicas',
  (n) => redisMetrics.connectedReplicas.set(n ?? -1),
  consumed.map((i) => `${layout.prefixes[i]}:`),
);
logRedisStateChanges(redis, logger, 'worker');
refuseMissingDatabase(redis, exitOnConfigError);
refuseShardCountMismatch(redis, config.QUEUE_PREFIX, layout.count, exitOnConfigError);

// The gauges cover every shard, consumed here or not: any worker's /metrics shows the whole backlog.
const gaugeQueues = openShardQueues(redis, layout);
createQueueMetrics(registry, () => snapshotQueues(gaugeQueues));

// Without credentials the worker still runs: events are processed and every re-upload is
// dead-lettered (no_credentials), so nothing is dropped silently while the keys are missing.
const apiOptions = vodApiOptionsOf(config);
const api = apiOptions ? new VodApiClient(apiOptions) : undefined;
if (!api) {
  logger.warn(
    'VOLC_ACCESSKEY/VOLC_SECRETKEY not set: re-uploads will be dead-lettered (no_credentials) and lost callbacks not reconciled',
  );
}
const batcher = api
  ? new UploadBatcher(api, { waitMs: config.REUPLOAD_BATCH_WAIT_MS, defaults: reuploadDefaults })
  : undefined;

/** What one consumed shard runs: its store and writers, its workers and its reconciler. */
interface ShardRuntime {
  shard: number;
  store: OutcomeStore;
  writers: JobWriters;
  manager: WorkerManager;
  syntheticEvents: SyntheticEventWriter;
  reconciler: Reconciler | undefined;
}

/** Starts the workers of one shard: everything it reads and writes lives under `prefix`. */
async function startShard(shard: number, prefix: string): Promise<ShardRuntime> {
  // REDIS_MIN_REPLICAS: the outcome step's WAIT runs on the store's connection (the one that wrote;
  // on a cluster, its link to the shard's master).
  const acknowledger =
    config.REDIS_MIN_REPLICAS > 0
      ? new ReplicaAcknowledger(
          redis,
          config.REDIS_MIN_REPLICAS,
          () => redisMetrics.replicationTimeouts.inc(),
          `${prefix}:`,
        )
      : undefined;
  const store = new OutcomeStore(redis, {
    prefix,
    dedupeTtlSeconds: config.DEDUPE_TTL_SECONDS,
    outcomesMaxLen: config.OUTCOMES_MAX_LEN,
    sourceStateTtlSeconds: config.SOURCE_STATE_TTL_SECONDS,
    confirm: acknowledger && (() => acknowledger.confirm(config.REDIS_MIN_REPLICAS_TIMEOUT_MS)),
    eventsMaxLen: config.QUEUE_EVENTS_MAX_LEN,
    notifications: webhook && {
      decisions: webhook.decisions,
      attempts: config.OUTCOME_WEBHOOK_MAX_ATTEMPTS,
    },
  });
  const uploads = new UploadTracker(redis, { prefix, ttlSeconds: config.SOURCE_STATE_TTL_SECONDS });
  const writers = new JobWriters(redis, {
    prefix,
    eventsMaxLen: config.QUEUE_EVENTS_MAX_LEN,
    reuploadJobs: config,
  });
  const manager = new WorkerManager(
    {
      connection: redis,
      prefix,
      concurrency: config.WORKER_CONCURRENCY,
      lockDurationMs: config.WORKER_LOCK_MS,
      keepCompleted: config.EVENT_JOB_KEEP_COMPLETED,
      processingDelayMs: config.PROCESSING_DELAY_MS,
      processingDelayAt: config.PROCESSING_DELAY_AT,
    },
    metrics,
    writers,
    logger,
    store,
  );
  manager.startEventWorker({
    store,
    uploads,
    budget: new ReuploadBudget(redis, { prefix, ttlSeconds: config.SOURCE_STATE_TTL_SECONDS }),
    writers,
    classifier,
    metrics,
    logger,
    acceptedEventTypes: acceptedEventTypes(config),
    unsupportedAction: config.UNSUPPORTED_EVENT_ACTION,
    maxAttempts: config.REUPLOAD_MAX_ATTEMPTS,
    reuploadScope: reuploadScopeOf(config),
    backoffBaseMs: config.REUPLOAD_BACKOFF_MS,
  });
  manager.startReuploadWorker(
    { batcher, store, uploads, writers, metrics, logger },
    config.REUPLOAD_CONCURRENCY,
    shardShareOfRate(config.REUPLOAD_RATE_PER_SECOND, layout.count),
  );
  if (webhook) {
    await manager.startNotificationWorker(
      {
        target: {
          url: webhook.url,
          secret: webhook.secret,
          timeoutMs: config.OUTCOME_WEBHOOK_TIMEOUT_MS,
          allowPrivate: config.OUTCOME_WEBHOOK_ALLOW_PRIVATE,
        },
        store,
        writers,
        metrics,
        logger,
      },
      {
        // Deployment-wide settings, split over the shards (each shard's queue has its own limits).
        concurrency: shardShareOfCount(config.OUTCOME_WEBHOOK_CONCURRENCY, layout.count),
        limiter: shardShareOfRate(config.OUTCOME_WEBHOOK_RATE_PER_SECOND, layout.count),
        backoffMs: config.OUTCOME_WEBHOOK_BACKOFF_MS,
        backoffMaxMs: config.OUTCOME_WEBHOOK_BACKOFF_MAX_MS,
      },
    );
  }
  const syntheticEvents = new SyntheticEventWriter(redis, prefix, config);
  const reconciler = api
    ? new Reconciler({
        redis,
        uploads,
        api,
        events: syntheticEvents,
        metrics,
        logger,
        afterSeconds: config.RECONCILE_AFTER_SECONDS,
        intervalSeconds: config.RECONCILE_INTERVAL_SECONDS,
        giveUpSeconds: config.RECONCILE_GIVE_UP_SECONDS,
        maxPerPass: config.RECONCILE_MAX_PER_PASS,
      })
    : undefined;
  return { shard, store, writers, manager, syntheticEvents, reconciler };
}

// The metrics server binds before any job is taken: a host or port it cannot have stops the worker (78)
// while it holds no job.
let shards: ShardRuntime[] = [];
const { server, port } = await startMetricsServer({
  registry,
  host: config.WORKER_METRICS_HOST,
  port: config.WORKER_METRICS_PORT,
  isReady: async () =>
    shards.length > 0 &&
    shards.every((s) => s.manager.isRunning()) &&
    redis.status === 'ready' &&
    (replicas === undefined || replicas.sufficient),
}).catch((err) =>
  exitOnConfigError(
    listenConfigError(err, {
      hostVar: 'WORKER_METRICS_HOST',
      host: config.WORKER_METRICS_HOST,
      portVar: 'WORKER_METRICS_PORT',
      port: config.WORKER_METRICS_PORT,
    }),
  ),
);

shards = await Promise.all(consumed.map((i) => startShard(i, layout.prefixes[i]!)));
// The oldest undelivered webhook of any consumed shard.
createWebhookPendingMetric(registry, async () => {
  const oldest = await Promise.all(shards.map((s) => s.store.oldestPendingNotificationMs()));
  const known = oldest.filter((ms): ms is number => ms !== undefined);
  return known.length > 0 ? Math.min(...known) : undefined;
});
for (const s of shards) s.reconciler?.start();
const collapsedDuplicates = new CollapsedDuplicateCounter({
  redis,
  prefixes: shards.map((s) => layout.prefixes[s.shard]!),
  classifier,
  metrics,
  logger,
});
collapsedDuplicates.start();

// Order: stop taking jobs and let running ones finish, then stop serving metrics, then close queues
// and Redis last (the workers need it to finish their jobs).
installShutdown(
  logger,
  [
    { name: 'stop reconcilers', run: () => Promise.all(shards.map((s) => s.reconciler?.close())) },
    { name: 'close workers', run: () => Promise.all(shards.map((s) => s.manager.close())) },
    { name: 'count collapsed redeliveries', run: () => collapsedDuplicates.close() },
    {
      name: 'close metrics server',
      run: () =>
        new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve(undefined)))),
    },
    {
      name: 'close queues',
      run: () =>
        closeAll({
          ...Object.fromEntries(
            shards.flatMap((s) => [
              [`job writers (shard ${s.shard})`, () => s.writers.close()],
              [`synthetic events (shard ${s.shard})`, () => s.syntheticEvents.close()],
            ]),
          ),
          ...Object.fromEntries(
            gaugeQueues.map(({ shard, queue }) => [
              `${queue.name} gauge queue (shard ${shard})`,
              () => queue.close(),
            ]),
          ),
        }),
    },
    {
      name: 'close replica monitor',
      run: async () => {
        replicas?.close();
        await replicas?.redis.quit();
      },
    },
    { name: 'close redis', run: () => redis.quit() },
  ],
  { timeoutMs: config.WORKER_SHUTDOWN_TIMEOUT_MS },
);

// The start-up line names the master it reached (Sentinel: the one they named); not worth a long wait.
await whenReady(redis, 3000);
logger.info(
  {
    queue: 'vod-events',
    concurrency: config.WORKER_CONCURRENCY,
    metricsPort: port,
    redis: describeTopology(topology),
    // One per shard: the same server for all but on a cluster.
    masters: shardMasters(redis, layout.prefixes).map((m) => m ?? null),
    minReplicas: config.REDIS_MIN_REPLICAS,
    prefix: config.QUEUE_PREFIX,
    eventShards: layout.count,
    shardsConsumed: consumed,
    reuploadConcurrency: config.REUPLOAD_CONCURRENCY,
    vodApi: api ? `${config.VOD_API_PROTOCOL}//${config.VOD_API_HOST}` : null,
    reconcileAfterSeconds: api ? config.RECONCILE_AFTER_SECONDS : null,
    outcomeWebhook: webhook ? webhook.url.origin : null,
    reuploadDefaults: reuploadDefaults.describe(),
  },
  `worker consuming vod-events${layout.count > 1 ? ` in shards ${consumed.join(',')} of ${layout.count}` : ''} (concurrency ${config.WORKER_CONCURRENCY}) and vod-reuploads (concurrency ${config.REUPLOAD_CONCURRENCY}, ${config.REUPLOAD_RATE_PER_SECOND}/s, VOD API ${api ? `${config.VOD_API_PROTOCOL}//${config.VOD_API_HOST}` : 'not configured'})${webhook ? `, outcome webhooks to ${webhook.url.origin} (${[...webhook.decisions].join(', ')})` : ''}, metrics on http://${config.WORKER_METRICS_HOST}:${port}/metrics, redis ${describeTopology(topology)} (${describeMasters(redis, layout.prefixes, consumed)}), REDIS_MIN_REPLICAS=${config.REDIS_MIN_REPLICAS}`,
);
