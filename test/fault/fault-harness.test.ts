import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyExactlyOnce } from './fault-harness.js';

// The verdict of the fault tests must be able to fail: a missing and a doubled outcome are reported.
describe('fault harness verdict', () => {
  const prefix = uniquePrefix('verdict');
  const redis = new Redis(testRedisUrl());
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('reports acknowledged RequestIds without an outcome as lost and those with two as duplicated', async () => {
    for (const id of ['a', 'b', 'b', 'c', 'not-acked']) {
      await redis.xadd(`${prefix}:outcomes`, '*', 'requestId', id, 'decision', 'succeeded', 'attempt', '1');
    }
    const verdict = await verifyExactlyOnce(testRedisUrl(), prefix, new Set(['a', 'b', 'c', 'd']), 1000);
    expect(verdict).toEqual({ acked: 4, lost: ['d'], duplicated: ['b'] });
  });
});
