import {
  assertBullmqLayout,
  checkEvictionPolicy,
  configOrExit,
  createIngressMetrics,
  createQueueMetrics,
  createRedis,
  createRegistry,
  DEAD_LETTERS_QUEUE,
  exitOnConfigError,
  installShutdown,
  listenConfigError,
  loggerOptions,
  REUPLOADS_QUEUE,
  redactRedisUrl,
  refuseMissingDatabase,
  snapshotQueues,
} from '@vod-callbacks/shared';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
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

const redis = createRedis(config.REDIS_URL, 'producer', 'ingress');
redis.on('error', (err) => logger.debug({ err: err.message }, 'redis connection error'));
refuseMissingDatabase(redis, exitOnConfigError);

await refuseEvictingRedis(redis, config);

const enqueuer = new EventEnqueuer(redis, enqueuerOptionsOf(config));
const otherQueues = [REUPLOADS_QUEUE, DEAD_LETTERS_QUEUE].map(
  (name) => new Queue(name, { connection: redis, prefix: config.QUEUE_PREFIX }),
);
const allQueues = [enqueuer.queue, ...otherQueues];

const registry = createRegistry('ingress');
const metrics = createIngressMetrics(registry);
createQueueMetrics(registry, () => snapshotQueues(allQueues));

const adminEnabled = Boolean(config.ADMIN_USER && config.ADMIN_PASSWORD);
const { app, stopAccepting } = await buildIngressApp({
  config,
  enqueuer,
  redis,
  registry,
  metrics,
  logger,
  extraPlugins: adminEnabled
    ? [
        (instance) =>
          registerAdminBoard(instance, {
            user: config.ADMIN_USER,
            password: config.ADMIN_PASSWORD,
            readWrite: config.ADMIN_READ_WRITE,
            queues: allQueues,
          }),
      ]
    : [],
});

installShutdown(logger, [
  { name: 'stop readiness', run: stopAccepting },
  { name: 'close http server', run: () => app.close() },
  { name: 'close queues', run: () => Promise.all(allQueues.map((q) => q.close())) },
  { name: 'close redis', run: () => redis.quit() },
]);

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
    redis: redactRedisUrl(config.REDIS_URL),
    prefix: config.QUEUE_PREFIX,
    signed: Boolean(config.CALLBACK_PRIVATE_KEY),
    adminBoard: adminEnabled
      ? `${ADMIN_BOARD_PATH} (${config.ADMIN_READ_WRITE ? 'read-write' : 'read-only'})`
      : 'off',
    statusApi: config.STATUS_API_TOKEN ? '/v1/uploads' : 'off',
  },
  `ingress listening on ${address}/callbacks/vod${config.STATUS_API_TOKEN ? ` (status API on /v1/uploads)` : ''}, redis ${redactRedisUrl(config.REDIS_URL)}`,
);

/**
 * An evicting Redis may delete queued jobs: acknowledged callbacks would vanish. Checked at start
 * (when Redis answers) and again on every reconnect.
 */
async function refuseEvictingRedis(conn: Redis, cfg: IngressConfig): Promise<void> {
  if (cfg.EVICTION_POLICY_CHECK === 'off') return;
  const check = async () => {
    const { policy, evicting } = await checkEvictionPolicy(conn);
    if (!evicting) return;
    const msg = `Redis maxmemory-policy is ${policy}: Redis may evict queued callbacks. Set maxmemory-policy noeviction (or EVICTION_POLICY_CHECK=warn to run anyway).`;
    if (cfg.EVICTION_POLICY_CHECK === 'refuse') {
      logger.fatal({ policy }, msg);
      process.exit(78);
    }
    logger.warn({ policy }, msg);
  };
  conn.on(
    'ready',
    () => void check().catch((err) => logger.warn({ err: err.message }, 'eviction check failed')),
  );
  const ready = await new Promise<boolean>((resolve) => {
    if (conn.status === 'ready') return resolve(true);
    const t = setTimeout(() => resolve(false), STARTUP_REDIS_WAIT_MS);
    conn.once('ready', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
  if (ready) await check();
  else
    logger.warn(
      { redis: redactRedisUrl(cfg.REDIS_URL) },
      'Redis not reachable yet; answering 503 until it is',
    );
}
