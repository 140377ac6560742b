import { ConfigError } from './env-config.js';
import { isCluster, type RedisClient } from './redis.js';

/**
 * ioredis reports a failed SELECT (a db number beyond the server's `databases`) as an error event and
 * then carries on in db 0, so a process would report ready and write where nobody configured it to.
 * This hands such a failure to `onRefused` as a ConfigError naming REDIS_URL (processes exit 78 on it).
 * The SELECT is answered before the connection's ready check, so nothing queued is written first.
 * A cluster has only db 0, which the topology's parse already demands.
 */
export function refuseMissingDatabase(redis: RedisClient, onRefused: (err: ConfigError) => void): void {
  if (isCluster(redis)) return;
  redis.on('error', (err: Error) => {
    if (!/DB index is out of range|invalid DB index/i.test(err.message)) return;
    onRefused(
      new ConfigError(
        `REDIS_URL names database ${redis.options.db}, which this Redis does not have (${err.message}); use a database below its "databases" setting`,
      ),
    );
  });
}
