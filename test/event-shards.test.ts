import {
  EVENTS_QUEUE,
  outcomeFromFields,
  queueKeys,
  shardCountKey,
  shardLayoutOf,
  shardOfSource,
} from '@vod-callbacks/shared';
import { deletePrefix, startApp, testRedisUrl, waitFor } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pipeline, postCallback, startPipeline, uploadEvent } from './support/pipeline.js';

// EVENT_SHARDS on one Redis: the built ingress routes each callback to the shard of its upload
// source, the worker consumes every shard, and each shard keeps its own outcomes stream.
const SHARDS = 3;
const SOURCES = 30;

describe('event shards on one Redis (built ingress + worker, EVENT_SHARDS=3)', () => {
  let s: ShardedPipeline;
  beforeAll(async () => {
    s = await startShardedPipeline('shards', SHARDS, { REUPLOAD_BACKOFF_MS: '60000' });
  });
  afterAll(() => s?.stop());

  const outcomesOf = async (prefix: string) =>
    (await s.redis.xrange(`${prefix}:outcomes`, '-', '+')).map(([, f]) => outcomeFromFields(f));

  it('records each source’s outcome in its own shard, once, however often VOD redelivers it', async () => {
    const events = Array.from({ length: SOURCES }, (_, i) =>
      uploadEvent(i % 5 === 0 ? 'DownloadFailed.UrlDownloadFail' : 'Success', '404 Not Found', `shard-${i}`),
    );
    for (const e of events) expect(await postCallback(s.p.ingressUrl, e)).toBe(200);
    // Every callback again: the redeliveries land in the same shard and collapse there.
    for (const e of events) expect(await postCallback(s.p.ingressUrl, e)).toBe(200);

    const perShard = await waitFor('every outcome', async () => {
      const all = await Promise.all(s.prefixes.map(outcomesOf));
      return all.flat().length >= SOURCES ? all : undefined;
    });
    // Give a duplicate the time to (wrongly) land, then count again.
    await new Promise((r) => setTimeout(r, 500));
    const settled = await Promise.all(s.prefixes.map(outcomesOf));
    expect(settled.flat()).toHaveLength(SOURCES);
    expect(new Set(settled.flat().map((o) => o.requestId)).size).toBe(SOURCES);
    for (const [shard, outcomes] of perShard.entries()) {
      // 30 sources over 3 shards: each shard has some (the hash spreads them).
      expect(outcomes.length, `shard ${shard}`).toBeGreaterThan(0);
      for (const o of outcomes)
        expect(shardOfSource(o.spaceName, o.sourceUrl, o.callbackArgs, SHARDS), o.requestId).toBe(shard);
    }
    // Nothing under the unsharded prefix: the shards hold everything.
    expect(await s.redis.exists(`${s.p.prefix}:outcomes`)).toBe(0);
  });

  it('shows every shard in the queue gauges', async () => {
    const text = await (await fetch(s.p.workerMetricsUrl)).text();
    for (let shard = 0; shard < SHARDS; shard++)
      expect(text).toMatch(
        new RegExp(`vod_queue_jobs\\{queue="vod-events",shard="${shard}",state="completed"[,}]`),
      );
  });

  /** Starts `app` on this pipeline's Redis with EVENT_SHARDS=2; how it ended (killed after 20 s) and what it wrote. */
  async function runWithTwoShards(app: 'worker' | 'ingress', env: Record<string, string>) {
    const proc = await startApp(app, {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: s.p.prefix,
      EVENT_SHARDS: '2',
      ...env,
    });
    const exit = await Promise.race([
      proc.exited,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000)),
    ]);
    if (!exit) await proc.kill('SIGKILL');
    return { code: exit?.code, output: proc.output() };
  }

  it('refuses a process started with another EVENT_SHARDS against the same Redis: exit 78 saying what to do', async () => {
    expect(await s.redis.get(shardCountKey(s.p.prefix))).toBe(String(SHARDS));
    const worker = await runWithTwoShards('worker', {
      WORKER_METRICS_HOST: '127.0.0.1',
      WORKER_METRICS_PORT: '0',
    });
    expect(worker.code, worker.output).toBe(78);
    expect(worker.output).toMatch(
      /EVENT_SHARDS=2, but this Redis holds .* in 3 shard\(s\).*vodctl shards set 2/,
    );
  });

  it('an ingress with another EVENT_SHARDS exits 78 before it binds its port', async () => {
    const ingress = await runWithTwoShards('ingress', {
      CALLBACK_AUTH: 'none',
      EVICTION_POLICY_CHECK: 'warn',
      INGRESS_HOST: '127.0.0.1',
      INGRESS_PORT: '0',
    });
    expect(ingress.code, ingress.output).toBe(78);
    expect(ingress.output).toMatch(/EVENT_SHARDS=2, but this Redis holds .* in 3 shard\(s\)/);
    expect(ingress.output).not.toMatch(/[Ll]istening/);
  });
});

describe('WORKER_SHARDS places a worker on a subset of the shards', () => {
  let s: ShardedPipeline;
  beforeAll(async () => {
    s = await startShardedPipeline('wshards', 2, { WORKER_SHARDS: '1' });
  });
  afterAll(() => s?.stop());

  it('processes the events of its shards only; the others wait for a worker of theirs', async () => {
    const events = Array.from({ length: 12 }, (_, i) => uploadEvent('Success', '', `ws-${i}`));
    const shardOf = (e: (typeof events)[number]) =>
      shardOfSource(e.Data.SpaceName, e.Data.SourceUrl, e.Data.CallbackArgs, 2);
    const inShard1 = events.filter((e) => shardOf(e) === 1);
    expect(inShard1.length).toBeGreaterThan(0);
    expect(inShard1.length).toBeLessThan(events.length);
    for (const e of events) expect(await postCallback(s.p.ingressUrl, e)).toBe(200);

    const done = await waitFor('shard 1 processed', async () => {
      const rows = await outcomeIds(s.redis, s.prefixes[1]!);
      return rows.length >= inShard1.length ? rows : undefined;
    });
    expect(done.sort()).toEqual(inShard1.map((e) => e.RequestId).sort());
    // Shard 0 has no worker here: its events wait, none has an outcome.
    expect(await s.redis.llen(queueKeys(s.prefixes[0]!, EVENTS_QUEUE).wait)).toBe(
      events.length - inShard1.length,
    );
    expect(await outcomeIds(s.redis, s.prefixes[0]!)).toEqual([]);
    expect(s.p.worker.output()).toMatch(/consuming vod-events in shards 1 of 2/);
  });
});

async function outcomeIds(redis: Redis, prefix: string): Promise<string[]> {
  return (await redis.xrange(`${prefix}:outcomes`, '-', '+')).map(([, f]) => outcomeFromFields(f).requestId);
}

/** A built ingress and worker with EVENT_SHARDS=`shards` on the test Redis, and what they wrote there. */
interface ShardedPipeline {
  redis: Redis;
  p: Pipeline;
  prefixes: readonly string[];
  /** Stops both processes and deletes every shard's keys. */
  stop(): Promise<void>;
}

async function startShardedPipeline(
  label: string,
  shards: number,
  workerEnv: Record<string, string>,
): Promise<ShardedPipeline> {
  const redis = new Redis(testRedisUrl());
  const p = await startPipeline({
    label,
    env: { EVICTION_POLICY_CHECK: 'warn', EVENT_SHARDS: String(shards) },
    workerEnv,
  });
  const prefixes = shardLayoutOf(p.prefix, shards).prefixes;
  return {
    redis,
    p,
    prefixes,
    async stop() {
      await p.stop();
      for (const prefix of [p.prefix, ...prefixes]) await deletePrefix(redis, prefix);
      redis.disconnect();
    },
  };
}
