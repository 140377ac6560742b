import { Redis, type RedisOptions } from 'ioredis';

/**
 * Who a connection is for; each role has the settings DESIGN.md requires.
 * - `producer`: the ingress's enqueue path. No offline queue, so a dead Redis fails fast (→ 503)
 *   instead of buffering commands for events already answered.
 * - `worker`: BullMQ workers and everything the worker writes. `maxRetriesPerRequest: null` and the
 *   offline queue on: a Redis blip delays work instead of failing it.
 * - `command`: short-lived tools (CLI, health checks): fail after a few retries.
 */
export type RedisRole = 'producer' | 'worker' | 'command';

/** Creates an ioredis connection for `role` to `url`. */
export function createRedis(url: string, role: RedisRole, name?: string): Redis {
  const base: RedisOptions = {
    connectionName: name ? `vod-callbacks:${name}` : undefined,
    // Reconnect quickly at first, then every 2 s: a restarted Redis is picked up within seconds.
    retryStrategy: (times) => Math.min(50 * times, 2000),
  };
  const byRole: Record<RedisRole, RedisOptions> = {
    producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 },
    worker: { maxRetriesPerRequest: null, enableOfflineQueue: true },
    command: { maxRetriesPerRequest: 2, connectTimeout: 3000, lazyConnect: false },
  };
  return new Redis(url, { ...base, ...byRole[role] });
}

/** Redis URL with any password replaced, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(unparseable)';
  }
}

/** What the eviction check found. */
export interface EvictionCheck {
  policy: string;
  evicting: boolean;
}

/**
 * Reads `maxmemory-policy`. Anything but `noeviction` lets Redis delete queued jobs under memory
 * pressure — acknowledged callbacks would vanish. CONFIG may be disabled on managed Redis; then
 * INFO memory is used.
 */
export async function checkEvictionPolicy(redis: Redis): Promise<EvictionCheck> {
  let policy: string | undefined;
  try {
    const res = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = res[1];
  } catch {
    const info = await redis.info('memory');
    policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  }
  const p = policy ?? 'unknown';
  return { policy: p, evicting: p !== 'noeviction' };
}
