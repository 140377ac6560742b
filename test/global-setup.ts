import { acquireTestRedis } from '@vod-callbacks/test-support';

/** Provides one Redis for the whole run (REDIS_URL → testcontainers → redis-server child). */
export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.TEST_REDIS_URL) return async () => {};
  const redis = await acquireTestRedis();
  process.env.TEST_REDIS_URL = redis.url;
  process.stdout.write(`test Redis: ${redis.url} (${redis.source})\n`);
  return () => redis.stop();
}
