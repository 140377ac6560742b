import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { startRedisServer } from './redis-server.js';

/** A Redis for a test run and how to let it go. */
export interface TestRedis {
  url: string;
  /** Where it came from, for the test log. */
  source: 'REDIS_URL' | 'testcontainers' | 'redis-server';
  stop(): Promise<void>;
}

function dockerAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 3000 }, (err) => resolve(!err));
  });
}

/**
 * Redis for tests, in DESIGN.md's order: `REDIS_URL` when set; else a testcontainers Redis when a
 * Docker engine answers; else a `redis-server` child process on a free port.
 */
export async function acquireTestRedis(env: NodeJS.ProcessEnv = process.env): Promise<TestRedis> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, source: 'REDIS_URL', stop: async () => {} };
  if (await dockerAnswers()) {
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7-alpine').start();
    return {
      url: container.getConnectionUrl(),
      source: 'testcontainers',
      stop: async () => {
        await container.stop();
      },
    };
  }
  const server = await startRedisServer();
  return { url: server.url, source: 'redis-server', stop: () => server.stop() };
}

/** The URL the global setup chose (vitest passes it through the environment). */
export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;
  if (!url)
    throw new Error('TEST_REDIS_URL is not set: run tests through vitest (its global setup provides Redis)');
  return url;
}

/** A queue prefix unique to one test, so tests never see each other's keys. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${randomBytes(5).toString('hex')}`;
}

/** Deletes every key under `prefix` (SCAN, not KEYS, so a shared Redis is not blocked). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
