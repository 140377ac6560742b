import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyExactlyOnce } from './verdict.js';

// The verdict of the fault tests must be able to fail: a missing and a doubled outcome are reported.
describe('fault test verdict', () => {
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

  it('reads every shard’s stream: an outcome in any counts, the same RequestId in two is duplicated', async () => {
    // EVENT_SHARDS=3 of this prefix, on one Redis: the verdict is given the three shard prefixes.
    const shards = [0, 1, 2].map((i) => `{${prefix}-${i}}`);
    const add = (shard: number, id: string) =>
      redis.xadd(`${shards[shard]}:outcomes`, '*', 'requestId', id, 'decision', 'succeeded', 'attempt', '1');
    await add(0, 'in-0');
    await add(2, 'in-2');
    await add(1, 'twice');
    await add(2, 'twice');
    const verdict = await verifyExactlyOnce(
      testRedisUrl(),
      shards,
      new Set(['in-0', 'in-2', 'twice', 'none']),
      1000,
    );
    expect(verdict).toEqual({ acked: 4, lost: ['none'], duplicated: ['twice'] });
    // Read from one shard's stream only, the others' outcomes would be missing.
    const one = await verifyExactlyOnce(testRedisUrl(), shards[0]!, new Set(['in-0', 'in-2']), 1000);
    expect(one.lost).toEqual(['in-2']);
    for (const shard of shards) await deletePrefix(redis, shard);
  });
});
