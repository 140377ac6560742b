import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimCollapsedDuplicates,
  collapsedCodeOf,
  tallyCollapsedDuplicate,
} from './collapsed-duplicates.js';

describe('collapsed redeliveries: the ingress tallies, a worker claims', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const fresh = () => {
    const prefix = uniquePrefix('collapsed');
    prefixes.push(prefix);
    return prefix;
  };
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('counts per code, and a claim takes the whole tally once', async () => {
    const prefix = fresh();
    for (const code of ['Success', 'Success', 'DownloadFailed.UrlDownloadFail', ''])
      await tallyCollapsedDuplicate(redis, prefix, code);
    expect(await claimCollapsedDuplicates(redis, prefix)).toEqual(
      new Map([
        ['Success', 2],
        ['DownloadFailed.UrlDownloadFail', 1],
        ['', 1],
      ]),
    );
    expect(await claimCollapsedDuplicates(redis, prefix)).toEqual(new Map());
  });

  it('with claims racing the tallies, every collapse is claimed exactly once', async () => {
    const prefix = fresh();
    const claimed: Map<string, number>[] = [];
    const claimers = Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 25; i++) claimed.push(await claimCollapsedDuplicates(redis, prefix));
    });
    const tallies = Array.from({ length: 500 }, (_, i) =>
      tallyCollapsedDuplicate(redis, prefix, `C${i % 7}`),
    );
    await Promise.all([...claimers, ...tallies]);
    claimed.push(await claimCollapsedDuplicates(redis, prefix));
    const total = claimed.flatMap((m) => [...m.values()]).reduce((a, b) => a + b, 0);
    expect(total).toBe(500);
  });

  it('keeps at most 256 distinct codes: further ones are tallied under "" (bounded by any sender)', async () => {
    const prefix = fresh();
    for (let i = 0; i < 300; i++) await tallyCollapsedDuplicate(redis, prefix, `Hostile.${i}`);
    await tallyCollapsedDuplicate(redis, prefix, 'Hostile.0');
    const tally = await claimCollapsedDuplicates(redis, prefix);
    expect(tally.size).toBe(257);
    expect(tally.get('')).toBe(44);
    expect(tally.get('Hostile.0')).toBe(2);
  });

  it('takes Data.Code only when it is a string of at most 128 characters', () => {
    expect(collapsedCodeOf({ Data: { Code: 'Success' } })).toBe('Success');
    for (const event of [
      null,
      7,
      'Success',
      [],
      {},
      { Data: null },
      { Data: [] },
      { Data: { Code: 42 } },
      { Data: { Code: { a: 1 } } },
      { Data: { Code: null } },
      { Data: { Code: 'x'.repeat(129) } },
    ])
      expect(collapsedCodeOf(event), JSON.stringify(event)).toBe('');
  });
});
