import { Redis, type RedisOptions } from 'ioredis';
import type { RedisTopology } from './redis-topology.js';

/**
 * Who a connection is for; each role has the settings DESIGN.md requires.
 * - `producer`: the ingress's enqueue path (and replica polls). No offline queue, so a dead Redis
 *   fails fast (→ 503) instead of buffering commands for events already answered.
 * - `worker`: BullMQ workers and everything the worker writes. `maxRetriesPerRequest: null` and the
 *   offline queue on: a Redis blip delays work instead of failing it.
 * - `command`: short-lived tools (`vodctl`): connect when asked (`connect()`), within 3 s, and never
 *   reconnect, so an unreachable Redis is reported at once.
 */
export type RedisRole = 'producer' | 'worker' | 'command';

/**
 * The one place a Redis connection is made: for `role`, on `topology` (a bare URL means a
 * standalone server). Apps call this and never branch on the topology.
 */
export function createRedis(topology: RedisTopology | string, role: RedisRole, name?: string): Redis {
  const t: RedisTopology = typeof topology === 'string' ? { kind: 'standalone', url: topology } : topology;
  const base: RedisOptions = {
    connectionName: name ? `vod-callbacks:${name}` : undefined,
    // Reconnect quickly at first, then every 2 s: a restarted Redis is picked up within seconds.
    retryStrategy: (times) => Math.min(50 * times, 2000),
  };
  const byRole: Record<RedisRole, RedisOptions> = {
    producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 },
    worker: { maxRetriesPerRequest: null, enableOfflineQueue: true },
    command: {
      maxRetriesPerRequest: 1,
      connectTimeout: 3000,
      lazyConnect: true,
      retryStrategy: () => null,
    },
  };
  const options = { ...base, ...byRole[role] };
  const once = role === 'command';

  switch (t.kind) {
    case 'standalone':
      return new Redis(t.url, options);
    case 'sentinel':
      // The URL's user, password, TLS and db apply to the data nodes; its host and port are ignored.
      return new Redis(t.url, {
        ...options,
        sentinels: t.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: t.masterName,
        role: 'master',
        sentinelPassword: t.sentinelPassword,
        // Not ioredis's failoverDetector: when its +switch-master disconnect lands while the client
        // is already reconnecting, ioredis ends the connection for good (seen in the failover
        // test). A dead master closes the socket, and the reconnect asks the Sentinels again; a
        // demoted one answers READONLY, and the connection is remade (below).
        reconnectOnError: (err) => err.message.startsWith('READONLY'),
        // Ask the Sentinels again soon when none answers; they are the only way to the master.
        sentinelRetryStrategy: once ? () => null : (times) => Math.min(100 * times, 1000),
      });
  }
}

/** `host:port` of the server a connection is talking to now (the current master), if connected. */
export function connectedAddress(redis: Redis): string | undefined {
  const stream = redis.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  if (redis.status !== 'ready' || !stream?.remoteAddress) return undefined;
  return `${stream.remoteAddress}:${stream.remotePort}`;
}

/**
 * Calls `onReconnect` each time `redis` is ready again after its first ready — a restarted Redis,
 * a network blip, or (with Sentinel) a failover, seen as a new address — with the server it
 * reached and the one before.
 */
export function watchReconnects(
  redis: Redis,
  onReconnect: (address: string | undefined, previous: string | undefined) => void,
): void {
  let last: string | undefined;
  let first = true;
  redis.on('ready', () => {
    const now = connectedAddress(redis);
    if (!first) onReconnect(now, last);
    first = false;
    last = now;
  });
}

/** Resolves true once `redis` is ready, false after `ms` (for start-up lines that name the master). */
export function whenReady(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
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
