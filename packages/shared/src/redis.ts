import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { connectedAddress } from './connected-address.js';
import type { RedisTopology } from './redis-topology.js';
import { followSentinelMaster } from './sentinel-master-follow.js';
import { clusterSlotOf } from './shards.js';

/**
 * A connection as the apps see it: one server (standalone or the Sentinels' master) or a Redis
 * Cluster client. Both take the same commands; a command is sent to the node of its first key's
 * slot, so everything a shard touches goes to the one master holding that shard.
 */
export type RedisClient = Redis | Cluster;

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
export function createRedis(topology: RedisTopology | string, role: RedisRole, name?: string): RedisClient {
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
    case 'sentinel': {
      // The URL's user, password, TLS and db apply to the data nodes; its host and port are ignored.
      const redis = new Redis(t.url, {
        ...options,
        sentinels: t.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: t.masterName,
        role: 'master',
        sentinelPassword: t.sentinelPassword,
        // Not ioredis's failoverDetector: when its +switch-master disconnect lands while the client
        // is already reconnecting, ioredis ends the connection for good (seen in the failover
        // test). A dead master closes the socket, and the reconnect asks the Sentinels again; a
        // demoted one answers READONLY, and the connection is remade (below); one failed over
        // while still alive is left once the Sentinels name another (followSentinelMaster).
        reconnectOnError: (err) => err.message.startsWith('READONLY'),
        // Ask the Sentinels again soon when none answers; they are the only way to the master.
        sentinelRetryStrategy: once ? () => null : (times) => Math.min(100 * times, 1000),
      });
      if (!once) followSentinelMaster(redis, t);
      return redis;
    }
    case 'cluster':
      return new Cluster(
        t.nodes.map((n) => ({ host: n.host, port: n.port })),
        clusterOptionsOf(t.url, options, once),
      );
  }
}

/**
 * Cluster client options for a role: the role's per-node settings, with the URL's user, password
 * and TLS; the offline queue and the retry strategy apply to the whole cluster (a node's own
 * reconnects are the cluster's business: it refreshes the slot map and follows failovers).
 */
function clusterOptionsOf(url: string, options: RedisOptions, once: boolean): ClusterOptions {
  const u = new URL(url);
  const { retryStrategy, lazyConnect, enableOfflineQueue, ...perNode } = options;
  return {
    redisOptions: {
      ...perNode,
      username: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      tls: u.protocol === 'rediss:' ? {} : undefined,
    },
    lazyConnect,
    enableOfflineQueue: enableOfflineQueue ?? true,
    // Writes go to masters only: a replica may lag behind what was acknowledged.
    scaleReads: 'master',
    // During a failover the slots move: ask again soon, and follow MOVED/ASK redirections.
    clusterRetryStrategy: once ? () => null : (times) => Math.min(100 * times, 2000),
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: 2000,
    maxRedirections: 16,
  };
}

/**
 * The connection to the server that holds `key`: the client itself on one server; on a cluster,
 * the client's own connection to the master serving the key's slot (so a WAIT there counts the
 * writes this client made to that master), undefined while the slot map has no master for it.
 */
export function connectionForKey(client: RedisClient, key: string): Redis | undefined {
  if (!(client instanceof Cluster)) return client;
  const master = client.slots[clusterSlotOf(key)]?.[0];
  if (!master) return undefined;
  return client.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === master);
}

/**
 * Has a Cluster client read the slot map again (nothing on one server). A client learns that a
 * slot moved from a MOVED answer to a keyed command; one that sends none to the moved slot (a
 * replica poll, a WAIT) would keep asking the dead or demoted master after a failover.
 */
export function refreshSlotMap(client: RedisClient): void {
  // Concurrent calls share one refresh; a failed one is retried by the next call.
  if (client instanceof Cluster) client.refreshSlotsCache(() => {});
}

/** Whether `client` is a Redis Cluster client. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * `host:port` of the master each shard is written to now, by shard: on one server the connected one
 * for all (Sentinel: the master they named), on a cluster the master serving `<prefix>:`'s slot in
 * the client's slot map; undefined while not connected or not known.
 */
export function shardMasters(redis: RedisClient, shardPrefixes: readonly string[]): (string | undefined)[] {
  if (!(redis instanceof Cluster)) return shardPrefixes.map(() => connectedAddress(redis));
  return shardPrefixes.map((prefix) => redis.slots[clusterSlotOf(`${prefix}:`)]?.[0]);
}

/**
 * Where writes go, for start-up lines: `master host:port` on one server; on a cluster
 * `shard masters 0=host:port 1=…` (`shards`: the ones to name, default all).
 */
export function describeMasters(
  redis: RedisClient,
  shardPrefixes: readonly string[],
  shards: readonly number[] = shardPrefixes.map((_, i) => i),
): string {
  if (!(redis instanceof Cluster)) return `master ${connectedAddress(redis) ?? 'not connected yet'}`;
  const masters = shardMasters(redis, shardPrefixes);
  return `shard masters ${shards.map((i) => `${i}=${masters[i] ?? 'unknown'}`).join(' ')}`;
}

/**
 * Calls `onReconnect` each time `redis` is ready again after its first ready — a restarted Redis,
 * a network blip, or (with Sentinel) a failover, seen as a new address — with the server it
 * reached and the one before. A cluster client stays ready through a failover: there it is called
 * when the slot map names another master for shards of `shardPrefixes`, once per move, with those
 * shards.
 */
export function watchReconnects(
  redis: RedisClient,
  onReconnect: (address: string | undefined, previous: string | undefined, shards?: number[]) => void,
  shardPrefixes: readonly string[] = [],
): void {
  let last: string | undefined;
  let first = true;
  redis.on('ready', () => {
    const now = connectedAddress(redis);
    if (!first) onReconnect(now, last);
    first = false;
    last = now;
  });
  if (!(redis instanceof Cluster)) return;
  let known = shardMasters(redis, shardPrefixes);
  // Emitted after every slot map read: at connect, after a MOVED answer, when asked (refreshSlotMap).
  redis.on('refresh', () => {
    const now = shardMasters(redis, shardPrefixes);
    const moves = new Map<string, { address: string; previous: string; shards: number[] }>();
    now.forEach((address, shard) => {
      const previous = known[shard];
      if (!address || !previous || address === previous) return;
      const move = moves.get(`${previous}>${address}`) ?? { address, previous, shards: [] };
      move.shards.push(shard);
      moves.set(`${previous}>${address}`, move);
    });
    known = now.map((address, shard) => address ?? known[shard]);
    for (const move of moves.values()) onReconnect(move.address, move.previous, move.shards);
  });
}

/** Resolves true once `redis` is ready, false after `ms` (for start-up lines that name the master). */
export function whenReady(redis: RedisClient, ms: number): Promise<boolean> {
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
  /** `host:port` of the server whose policy this is, when known (on a cluster: the evicting master). */
  server?: string;
}

/**
 * Reads `maxmemory-policy`. Anything but `noeviction` lets Redis delete queued jobs under memory
 * pressure — acknowledged callbacks would vanish. CONFIG may be disabled on managed Redis; then
 * INFO memory is used.
 */
export async function checkEvictionPolicy(redis: RedisClient): Promise<EvictionCheck> {
  if (redis instanceof Cluster) {
    // Every master holds shards: the first evicting one decides.
    const checks = await Promise.all(
      redis.nodes('master').map(async (node) => ({
        ...(await checkEvictionPolicy(node)),
        server: `${node.options.host}:${node.options.port}`,
      })),
    );
    return checks.find((c) => c.evicting) ?? checks[0] ?? { policy: 'unknown', evicting: true };
  }
  let policy: string | undefined;
  try {
    const res = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = res[1];
  } catch {
    const info = await redis.info('memory');
    policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  }
  const p = policy ?? 'unknown';
  return { policy: p, evicting: p !== 'noeviction', server: connectedAddress(redis) };
}
