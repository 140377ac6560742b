import type { RedisClient, ReplicaMonitor } from '@vod-callbacks/shared';
import type { FastifyPluginAsync } from 'fastify';

/** Longest wait for Redis's PING before /readyz answers 503 (a readiness probe's timeout must exceed it). */
export const READYZ_PING_TIMEOUT_MS = 1000;
/**
 * How long the ingress waits at start for Redis before it listens anyway (answering 503 until Redis
 * comes): /healthz answers only after that, so a startup probe must allow for it.
 */
export const STARTUP_REDIS_WAIT_MS = 5000;

export interface HealthRoutesOptions {
  redis: RedisClient;
  /** Longest wait for PING before /readyz answers 503. */
  pingTimeoutMs: number;
  /** False once shutdown began, so load balancers stop sending before the server closes. */
  isAccepting: () => boolean;
  /** With REDIS_MIN_REPLICAS > 0: not ready while the master has fewer replicas online. */
  replicas?: ReplicaMonitor;
}

/**
 * GET /healthz (process alive) and GET /readyz (Redis answers, enough replicas when required, and
 * not shutting down).
 */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, opts) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    if (!opts.isAccepting()) return reply.code(503).send({ status: 'shutting_down' });
    const ok = await pingWithin(opts.redis, opts.pingTimeoutMs);
    if (!ok) return reply.code(503).send({ status: 'redis_unavailable' });
    const { replicas } = opts;
    if (replicas && !replicas.sufficient)
      return reply.code(503).send({
        status: 'replicas_missing',
        connected: replicas.connected ?? null,
        required: replicas.minReplicas,
      });
    return { status: 'ready' };
  });
};

async function pingWithin(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      redis.ping().then((r) => r === 'PONG'),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
