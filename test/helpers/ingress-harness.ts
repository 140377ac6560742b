import { createIngressMetrics, createRedis, createRegistry } from '@vod-callbacks/shared';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { buildIngressApp } from '../../apps/ingress/src/app.js';
import { type IngressConfig, loadIngressConfig } from '../../apps/ingress/src/config.js';
import { EventEnqueuer, enqueuerOptionsOf } from '../../apps/ingress/src/event-enqueuer.js';

/** The real ingress app (not listening) on a real Redis, for `app.inject()` tests. */
export interface IngressHarness {
  app: FastifyInstance;
  config: IngressConfig;
  redis: Redis;
  enqueuer: EventEnqueuer;
  registry: ReturnType<typeof createRegistry>;
  /** Value of `vod_callbacks_received_total{result}`. */
  received(result: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Builds the ingress exactly as main.ts does, from `env` (REDIS_URL and QUEUE_PREFIX required).
 * `waitForRedis: false` builds it against a Redis that is not (yet) there.
 */
export async function createIngressHarness(
  env: Record<string, string>,
  logger = pino({ level: 'silent' }),
  waitForRedis = true,
): Promise<IngressHarness> {
  // Tests that do not sign say so explicitly (the ingress refuses to start unsigned otherwise).
  const config = loadIngressConfig(env.CALLBACK_PRIVATE_KEY ? env : { CALLBACK_AUTH: 'none', ...env });
  const redis = createRedis(config.REDIS_URL, 'producer', 'test-ingress');
  redis.on('error', () => {});
  if (waitForRedis) await new Promise((resolve) => redis.once('ready', resolve));
  const enqueuer = new EventEnqueuer(redis, enqueuerOptionsOf(config));
  const registry = createRegistry('ingress');
  const metrics = createIngressMetrics(registry);
  const { app } = await buildIngressApp({ config, enqueuer, redis, registry, metrics, logger });
  return {
    app,
    config,
    redis,
    enqueuer,
    registry,
    async received(result) {
      const metric = (await registry.getMetricsAsJSON()).find(
        (m) => m.name === 'vod_callbacks_received_total',
      );
      const values = (metric?.values ?? []) as { value: number; labels: Record<string, unknown> }[];
      return values.find((v) => v.labels.result === result)?.value ?? 0;
    },
    async close() {
      await app.close();
      await enqueuer.close();
      redis.disconnect();
    },
  };
}
