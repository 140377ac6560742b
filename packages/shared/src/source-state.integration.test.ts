import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSourceState } from './source-state.js';

describe('source state', () => {
  let redis: Redis;
  const prefix = uniquePrefix('state');
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('reads a state string, and nothing as {}', async () => {
    await redis.set(`${prefix}:json`, JSON.stringify({ decision: 'succeeded', attempt: '2' }));
    expect(await readSourceState(redis, `${prefix}:json`)).toEqual({ decision: 'succeeded', attempt: '2' });
    expect(await readSourceState(redis, `${prefix}:none`)).toEqual({});
  });
});
