import type { Socket } from 'node:net';
import { testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { coalesceWrites } from './coalesce-writes.js';
import { createRedis } from './redis.js';

describe('coalesceWrites', () => {
  let redis: Redis;
  let prefix: string;

  beforeEach(async () => {
    prefix = uniquePrefix('cw');
    redis = coalesceWrites(createRedis(testRedisUrl(), 'worker', 'test-coalesce'));
    await redis.ping();
  });

  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  /** Counts the socket writes (single or vectored) made while `fn` runs. */
  async function countWrites(fn: () => Promise<unknown>): Promise<number> {
    const stream = (redis as unknown as { stream: Socket & { _write: unknown; _writev: unknown } }).stream;
    let writes = 0;
    const { _write, _writev } = stream;
    stream._write = (...a: unknown[]) => {
      writes++;
      return (_write as (...x: unknown[]) => void).apply(stream, a);
    };
    stream._writev = (...a: unknown[]) => {
      writes++;
      return (_writev as (...x: unknown[]) => void).apply(stream, a);
    };
    try {
      await fn();
    } finally {
      stream._write = _write;
      stream._writev = _writev;
    }
    return writes;
  }

  it('sends the commands of one turn in one write, each with its own reply', async () => {
    const writes = await countWrites(() =>
      Promise.all(Array.from({ length: 200 }, (_, i) => redis.set(`${prefix}:k${i}`, String(i)))),
    );
    expect(writes).toBe(1);
    const values = await Promise.all(Array.from({ length: 200 }, (_, i) => redis.get(`${prefix}:k${i}`)));
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
  });

  it('keeps errors per command', async () => {
    await redis.set(`${prefix}:str`, 'x');
    const [bad, good] = await Promise.allSettled([
      redis.lpush(`${prefix}:str`, 'y'),
      redis.get(`${prefix}:str`),
    ]);
    expect(bad.status).toBe('rejected');
    expect(good).toEqual({ status: 'fulfilled', value: 'x' });
  });

  it('is idempotent', async () => {
    const send = redis.sendCommand;
    expect(coalesceWrites(redis).sendCommand).toBe(send);
  });
});
