import type { Logger } from 'pino';
import { type RedisClient, watchReconnects } from './redis.js';

/**
 * Logs the state changes of a connection at warn, once per change: down (with the error that
 * brought it down) and back. Every error stays at debug: while Redis is away ioredis reports each
 * failed reconnect, and those lines would bury the one that says it went down.
 */
export function logRedisStateChanges(redis: RedisClient, logger: Logger, name: string): void {
  let down = false;
  let lastError: string | undefined;
  redis.on('error', (err: Error) => {
    lastError = err.message;
    logger.debug({ redis: name, err: err.message }, 'redis connection error');
  });
  // Emitted only when ioredis will reconnect (not after quit()), so a shutdown logs nothing here.
  redis.on('reconnecting', () => {
    if (down) return;
    down = true;
    logger.warn({ redis: name, err: lastError }, 'redis connection down; reconnecting');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    lastError = undefined;
    logger.warn({ redis: name }, 'redis connection back');
  });
}

/**
 * Counts every reconnect and failover (`onReconnect`, for vod_redis_reconnects_total) and logs at
 * warn when the master changed, naming the shards that moved (Redis Cluster) — see watchReconnects.
 */
export function logMasterChanges(
  redis: RedisClient,
  logger: Logger,
  shardPrefixes: readonly string[],
  onReconnect: () => void,
): void {
  watchReconnects(
    redis,
    (address, previous, shards) => {
      onReconnect();
      if (address !== previous) logger.warn({ address, previous, shards }, 'redis master changed');
    },
    shardPrefixes,
  );
}
