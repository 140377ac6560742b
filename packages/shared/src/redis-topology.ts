import { ConfigError } from './env-config.js';

/** A `host:port` address. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Where a process finds Redis, parsed once from its environment (see `redisTopologyOf`). Apps pass
 * it to `createRedis` and never look inside: adding a topology (Redis Cluster) adds a variant here
 * and a branch in the factory, nothing in the apps.
 * - `standalone`: one server at `url`.
 * - `sentinel`: the master Sentinel calls `masterName`, asked of `sentinels`; `url` still gives the
 *   data nodes' user, password, TLS and db (its host and port are not used).
 * - `cluster`: a Redis Cluster reached through any of `nodes` (the client learns the rest); `url`
 *   gives user, password and TLS (its host, port and db are not used: a cluster has only db 0).
 */
export type RedisTopology =
  | { kind: 'standalone'; url: string }
  | {
      kind: 'sentinel';
      url: string;
      sentinels: readonly HostPort[];
      masterName: string;
      /** AUTH password of the Sentinels themselves (REDIS_SENTINEL_PASSWORD). */
      sentinelPassword?: string;
    }
  | { kind: 'cluster'; url: string; nodes: readonly HostPort[] };

/** The variables `redisTopologyOf` reads (each app's config holds them through COMMON_ENV). */
export interface RedisTopologySettings {
  REDIS_URL: string;
  REDIS_SENTINELS: string;
  REDIS_SENTINEL_MASTER: string;
  REDIS_SENTINEL_PASSWORD: string;
  REDIS_CLUSTER_NODES: string;
}

/** Parses `host:port,host:port,…`; throws ConfigError naming `variable` on a bad entry. */
export function parseHostPorts(variable: string, list: string): HostPort[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(entry);
      const port = Number(m?.[2]);
      if (!m || port < 1 || port > 65535)
        throw new ConfigError(`${variable} entry ${JSON.stringify(entry)} is not host:port`);
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
    });
}

/** The topology a process's config describes. Throws ConfigError on an incomplete Sentinel setting. */
export function redisTopologyOf(settings: RedisTopologySettings): RedisTopology {
  const sentinels = parseHostPorts('REDIS_SENTINELS', settings.REDIS_SENTINELS);
  const clusterNodes = parseHostPorts('REDIS_CLUSTER_NODES', settings.REDIS_CLUSTER_NODES);
  if (clusterNodes.length > 0) {
    if (sentinels.length > 0)
      throw new ConfigError(
        'REDIS_CLUSTER_NODES and REDIS_SENTINELS are both set; a Redis Cluster does its own failover: set one of them',
      );
    const db = new URL(settings.REDIS_URL).pathname.replace('/', '');
    if (db && db !== '0')
      throw new ConfigError(
        `REDIS_URL selects database ${db}, but a Redis Cluster has only database 0; drop /${db} from REDIS_URL`,
      );
    return { kind: 'cluster', url: settings.REDIS_URL, nodes: clusterNodes };
  }
  if (sentinels.length === 0) {
    if (settings.REDIS_SENTINEL_MASTER)
      throw new ConfigError('REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is empty');
    return { kind: 'standalone', url: settings.REDIS_URL };
  }
  if (!settings.REDIS_SENTINEL_MASTER)
    throw new ConfigError(
      'REDIS_SENTINEL_MASTER must be set with REDIS_SENTINELS (the name Sentinel monitors)',
    );
  return {
    kind: 'sentinel',
    url: settings.REDIS_URL,
    sentinels,
    masterName: settings.REDIS_SENTINEL_MASTER,
    sentinelPassword: settings.REDIS_SENTINEL_PASSWORD || undefined,
  };
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

/** One line for start-up logs: the topology and where it points (no secrets). */
export function describeTopology(topology: RedisTopology): string {
  switch (topology.kind) {
    case 'standalone':
      return `standalone ${redactRedisUrl(topology.url)}`;
    case 'sentinel':
      return `sentinel master "${topology.masterName}" via ${topology.sentinels
        .map((s) => `${s.host}:${s.port}`)
        .join(',')}`;
    case 'cluster':
      return `cluster via ${topology.nodes.map((s) => `${s.host}:${s.port}`).join(',')}`;
  }
}
