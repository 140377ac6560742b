import {
  assertBullmqLayout,
  checkEvictionPolicy,
  closeAll,
  configOrExit,
  createIngressMetrics,
  createQueueMetrics,
  createRedis,
  createRedisMetrics,
  createRegistry,
  DEAD_LETTERS_QUEUE,
  describeMasters,
  describeTopology,
  exitOnConfigError,
  installShutdown,
  isCluster,
  listenConfigError,
  loggerOptions,
  logMasterChanges,
  logRedisStateChanges,
  NOTIFICATIONS_QUEUE,
  openShardQueues,
  REUPLOADS_QUEUE,
  type RedisClient,
  redisTopologyOf,
  refuseMissingDatabase,
  refuseShardCountMismatch,
  shardLayoutFor,
  shardMasters,
  snapshotQueues,
  startReplicaMonitor,
  watchReconnects,
} from '@vod-callbacks/shared';
import { pino } from 'pino';
import { buildIngressApp } from './app.js';
import { type IngressConfig, loadIngressConfig } from './config.js';
import { EventEnqueuer, enqueuerOptionsOf } from './event-enqueuer.js';
import { ADMIN_BOARD_PATH, registerAdminBoard } from './plugins/admin-board.js';
import { STARTUP_REDIS_WAIT_MS } from './plugins/health-routes.js';

// Our Lua scripts write BullMQ jobs themselves: refuse a bullmq whose layout they were not checked against.
assertBullmqLayout();
const config = configOrExit(() => loadIngressConfig());
const logger = pino(loggerOptions('ingress', config.LOG_LEVEL));
if (config.CALLBACK_AUTH === 'none') {
  logger.warn(
    'CALLBACK_AUTH=none: unsigned callbacks are accepted; anyone who can reach this ingress can post events (and trigger re-uploads). Set CALLBACK_PRIVATE_KEY to check signatures.',
  );
}

const topology = configOrExit(() => redisTopologyOf(config));
const layout = configOrExit(() => shardLayoutFor(topology, config.QUEUE_PREFIX, config.EVENT_SHARDS));
const enqueuerOptions = enqueuerOptionsOf(config, layout);
const registry = createRegistry('ingress');
const metrics = createIngressMetrics(registry);
const redisMetrics = createRedisMetrics(registry);

const redis = createRedis(topology, 'producer', 'ingress');
logMasterChanges(redis, logger, layout.prefixes, () => redisMetrics.reconnects.inc());
logRedisStateChanges(redis, logger, 'ingress');
refuseMissingDatabase(redis, exitOnConfigError);
const checkShardCount = refuseShardCountMismatch(redis, config.QUEUE_PREFIX, layout.count, exitOnConfigError);

// An evicting Redis may delete queued jobs: acknowledged callbacks would vanish. Checked at start
// (once Redis answers) and at every reconnect (below, once the shutdown owner exists).
const evictionChecked =
  config.EVICTION_POLICY_CHECK !== 'off' && (await redisReadyWithin(redis, STARTUP_REDIS_WAIT_MS));
if (evictionChecked && (await evictionVerdict(redis, config)) === 'refuse') process.exit(78); // nothing started yet
if (config.EVICTION_POLICY_CHECK !== 'off' && !evictionChecked) {
  logger.warn({ redis: describeTopology(topology) }, 'Redis not reachable yet; answering 503 until it is');
}
// With Redis already up, a shard count other than the recorded one is refused before the port is bound
// (the 'ready' check above covers a Redis that comes later, and every reconnect).
if (redis.status === 'ready') await checkShardCount();

// Its own connection: the writing one may be held by a WAIT (Redis blocks the client meanwhile).
const replicas = startReplicaMonitor(
  topology,
  config.REDIS_MIN_REPLICAS,
  'ingress-replicas',
  (n) => redisMetrics.connectedReplicas.set(n ?? -1),
  layout.prefixes.map((prefix) => `${prefix}:`),
);

const enqueuer = new EventEnqueuer(redis, enqueuerOptions, {
  monitor: replicas,
  onShort: () => redisMetrics.replicationTimeouts.inc(),
});
// Every shard's queues for bull-board and the queue gauges (vod-notifications is empty unless webhooks are on).
const otherQueues = openShardQueues(redis, layout, [
  REUPLOADS_QUEUE,
  DEAD_LETTERS_QUEUE,
  NOTIFICATIONS_QUEUE,
]);
const allQueues = [...enqueuer.queues.map((queue, shard) => ({ shard, queue })), ...otherQueues];
createQueueMetrics(registry, () => snapshotQueues(allQueues));

const adminEnabled = Boolean(config.ADMIN_USER && config.ADMIN_PASSWORD);
const { app, stopAccepting } = await buildIngressApp({
  config,
  enqueuer,
  redis,
  registry,
  metrics,
  replicas,
  logger,
  extraPlugins: adminEnabled
    ? [
        (instance) =>
          registerAdminBoard(instance, {
            user: config.ADMIN_USER,
            password: config.ADMIN_PASSWORD,
            readWrite: config.ADMIN_READ_WRITE,
            queues: allQueues,
            shardCount: layout.count,
          }),
      ]
    : [],
});

const owner = installShutdown(logger, [
  { name: 'stop readiness', run: stopAccepting },
  { name: 'close http server', run: () => app.close() },
  {
    name: 'close queues',
    run: () =>
      closeAll(
        Object.fromEntries(
          allQueues.map(({ shard, queue }) => [`${queue.name} queue (shard ${shard})`, () => queue.close()]),
        ),
      ),
  },
  {
    name: 'close replica monitor',
    run: async () => {
      replicas?.close();
      await replicas?.redis.quit();
    },
  },
  { name: 'close redis', run: () => redis.quit() },
]);

if (config.EVICTION_POLICY_CHECK !== 'off') {
  // Found at a reconnect, an evicting Redis stops the process like a refused configuration (78),
  // through the shutdown owner: answers in flight are sent and the queues closed first.
  const recheck = () =>
    void evictionVerdict(redis, config)
      .then((verdict) => {
        if (verdict === 'refuse') void owner.shutdown({ reason: 'redis evicts queued jobs', exitCode: 78 });
      })
      .catch((err: Error) => logger.warn({ err: err.message }, 'eviction check failed'));
  redis.on('ready', recheck);
  // A cluster client stays ready through a failover: a shard's new master is checked when it moves.
  if (isCluster(redis)) watchReconnects(redis, recheck, layout.prefixes);
  if (!evictionChecked && redis.status === 'ready') recheck();
}

const address = await app.listen({ host: config.INGRESS_HOST, port: config.INGRESS_PORT }).catch((err) =>
  exitOnConfigError(
    listenConfigError(err, {
      hostVar: 'INGRESS_HOST',
      host: config.INGRESS_HOST,
      portVar: 'INGRESS_PORT',
      port: config.INGRESS_PORT,
    }),
  ),
);
logger.info(
  {
    address,
    redis: describeTopology(topology),
    // One per shard: the same server for all but on a cluster.
    masters: shardMasters(redis, layout.prefixes).map((m) => m ?? null),
    minReplicas: config.REDIS_MIN_REPLICAS,
    prefix: config.QUEUE_PREFIX,
    eventShards: layout.count,
    callbackAuth: config.CALLBACK_AUTH,
    adminBoard: adminEnabled
      ? `${ADMIN_BOARD_PATH} (${config.ADMIN_READ_WRITE ? 'read-write' : 'read-only'})`
      : 'off',
    statusApi: config.STATUS_API_TOKEN ? '/v1/uploads' : 'off',
  },
  `ingress listening on ${address}/callbacks/vod${config.STATUS_API_TOKEN ? ` (status API on /v1/uploads)` : ''}, redis ${describeTopology(topology)} (${describeMasters(redis, layout.prefixes)}), REDIS_MIN_REPLICAS=${config.REDIS_MIN_REPLICAS}`,
);

/** Whether Redis answers within `ms` (at once when it already does). */
function redisReadyWithin(conn: RedisClient, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    if (conn.status === 'ready') return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    conn.once('ready', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Reads Redis's eviction policy; logs an evicting one and says whether the configuration refuses it. */
async function evictionVerdict(conn: RedisClient, cfg: IngressConfig): Promise<'ok' | 'refuse'> {
  const { policy, evicting, server } = await checkEvictionPolicy(conn);
  if (!evicting) return 'ok';
  const where = server ? ` on ${server}` : '';
  const every = topology.kind === 'cluster' ? ' on every master' : '';
  const msg = `Redis maxmemory-policy is ${policy}${where}: Redis may evict queued callbacks. Set maxmemory-policy noeviction${every} (or EVICTION_POLICY_CHECK=warn to run anyway).`;
  if (cfg.EVICTION_POLICY_CHECK === 'refuse') {
    logger.fatal({ policy, server }, msg);
    return 'refuse';
  }
  logger.warn({ policy, server }, msg);
  return 'ok';
}
