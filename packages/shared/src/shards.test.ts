import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sourceKeyOf } from './queues.js';
import {
  clusterPrefixProblem,
  clusterSlotOf,
  hashTagOf,
  prefixHasHashTag,
  shardLayoutOf,
  shardOfEvent,
  shardOfSource,
  shardShareOfCount,
  shardShareOfRate,
} from './shards.js';

describe('shard layout', () => {
  it('keeps QUEUE_PREFIX for one shard and gives each of N a hash tag of its own', () => {
    expect(shardLayoutOf('vod', 1).prefixes).toEqual(['vod']);
    expect(shardLayoutOf('vod', 3).prefixes).toEqual(['{vod-0}', '{vod-1}', '{vod-2}']);
    expect(() => shardLayoutOf('vod', 0)).toThrow(/EVENT_SHARDS/);
    expect(() => shardLayoutOf('vod', 65)).toThrow(/EVENT_SHARDS/);
  });

  it('demands a hash tag in QUEUE_PREFIX only for one shard on a cluster', () => {
    expect(clusterPrefixProblem('vod', 1)).toMatch(/QUEUE_PREFIX=\{vod\}/);
    expect(clusterPrefixProblem('{vod}', 1)).toBeUndefined();
    expect(clusterPrefixProblem('vod', 4)).toBeUndefined();
    expect(prefixHasHashTag('{}')).toBe(false);
    expect(prefixHasHashTag('a{b}')).toBe(true);
  });
});

describe('hash slots', () => {
  it('hash the tag as Redis does (values from CLUSTER KEYSLOT)', () => {
    // Redis Cluster's specification gives 12739 for "123456789" (CRC16 0x31C3).
    expect(clusterSlotOf('123456789')).toBe(0x31c3 % 16384);
    expect(hashTagOf('{user1000}.following')).toBe('user1000');
    expect(hashTagOf('foo{}{bar}')).toBe('foo{}{bar}');
    expect(hashTagOf('foo{{bar}}zap')).toBe('{bar');
    expect(clusterSlotOf('{vod-0}:vod-events:wait')).toBe(clusterSlotOf('{vod-0}:outcomes'));
  });
});

describe('routing an event to its shard', () => {
  const event = (data: unknown, requestId: unknown = 'r-1') => ({ RequestId: requestId, Data: data });

  it('puts every event of one source in one shard, whatever its RequestId', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ minLength: 1 }),
        fc.string(),
        fc.string(),
        (space, url, args, rid) => {
          fc.pre(space.length > 0);
          const shard = shardOfEvent(event({ SpaceName: space, SourceUrl: url, CallbackArgs: args }, rid), 5);
          expect(shard).toBe(shardOfSource(space, url, args, 5));
          expect(shard).toBeGreaterThanOrEqual(0);
          expect(shard).toBeLessThan(5);
        },
      ),
    );
  });

  it('treats a CallbackArgs that is not a string as empty, as the worker does', () => {
    const asWorker = shardOfSource('s', 'u', '', 7);
    for (const args of [undefined, null, 3, true, { a: 1 }, ['x']])
      expect(shardOfEvent(event({ SpaceName: 's', SourceUrl: 'u', CallbackArgs: args }), 7)).toBe(asWorker);
    // The worker's source key uses the same three parts.
    expect(sourceKeyOf({ spaceName: 's', sourceUrl: 'u', callbackArgs: '' })).toBeTypeOf('string');
  });

  it('never throws on any JSON a sender controls, and stays within the shard count', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 1, max: 64 }), (value, n) => {
        const shard = shardOfEvent(value, n);
        expect(Number.isInteger(shard) && shard >= 0 && shard < n).toBe(true);
      }),
    );
  });

  it('spreads sources evenly enough over shards', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++)
      counts[shardOfSource('space', `https://cdn.example.com/v/${i}.mp4`, '', 3)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(900);
  });
});

describe('deployment-wide limits split over shards', () => {
  it('never sum above the whole, and give every shard something', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 64 }), (rate, shards) => {
        const { max, duration } = shardShareOfRate(rate, shards);
        expect(max).toBeGreaterThanOrEqual(1);
        // Jobs per second over all shards.
        expect((shards * max * 1000) / duration).toBeLessThanOrEqual(rate);
        expect(shardShareOfCount(rate, shards)).toBeGreaterThanOrEqual(1);
        if (rate >= shards) expect(shards * shardShareOfCount(rate, shards)).toBeLessThanOrEqual(rate);
      }),
    );
    expect(shardShareOfRate(50, 1)).toEqual({ max: 50, duration: 1000 });
    expect(shardShareOfRate(50, 3)).toEqual({ max: 16, duration: 1000 });
    expect(shardShareOfRate(2, 6)).toEqual({ max: 1, duration: 3000 });
  });
});
