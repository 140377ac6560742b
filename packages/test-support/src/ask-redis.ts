import { Redis } from 'ioredis';

/**
 * One command (or a few) to a Redis node or Sentinel on loopback, on a connection of its own that
 * never retries, so a node that is down fails the call instead of queueing it.
 */
export async function askRedis<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    // Generous: the test machine may be busy, and a timed-out connect reads as "Connection is closed".
    connectTimeout: 10_000,
    // A frozen node (SIGSTOP) must fail the call, or a polling loop would never reach its deadline.
    commandTimeout: 10_000,
  });
  c.on('error', () => {});
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}
