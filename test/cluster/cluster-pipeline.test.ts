import { readFileSync } from 'node:fs';
import { queueKeys, REUPLOADS_QUEUE, shardOfEvent } from '@vod-callbacks/shared';
import { freePort, startApp, waitFor } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIX, MIX_CODES, type Pipeline, postCallback, sendMix, startPipeline } from '../support/pipeline.js';
import {
  type ClusterFixture,
  type ShardOutcome,
  shardOutcomes,
  startClusterFixture,
} from './cluster-stack.js';

// The pipeline on a real Redis Cluster (3 masters × 2 replicas) with EVENT_SHARDS=3: the built
// ingress and worker connect through REDIS_CLUSTER_NODES, each callback goes to the shard of its
// upload source, and the shards' keys live on different masters.

const SHARDS = 3;
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));

/** `vod_events_processed_total` summed over its series, from a worker's /metrics. */
async function processedTotal(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const m of text.matchAll(/^vod_events_processed_total\{[^}]*\} (\d+)/gm)) sum += Number(m[1]);
  return sum;
}

/** Keys matching `pattern` on one node alone (a cluster node lists only the keys it holds). */
async function keysOn(port: number, pattern: string): Promise<string[]> {
  const node = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  } finally {
    node.disconnect();
  }
}

describe('pipeline end to end on Redis Cluster with EVENT_SHARDS=3 (built processes)', () => {
  let fx: ClusterFixture;
  let p: Pipeline;
  const seeds = {
    success: fixture('seed-success.json'),
    failure: fixture('seed-failure.json'),
    transient: { ...fixture('seed-failure.json'), RequestId: 'cluster-transient' },
  };
  seeds.transient.Data = { ...seeds.transient.Data, Code: 'InternalError.UrlUploadError' };

  beforeAll(async () => {
    fx = await startClusterFixture('cl-pipe', SHARDS);
    // Completed jobs removed at once: a redelivery reaches the worker, whose dedupe (in the event's
    // shard) must collapse it.
    p = await startPipeline({
      prefix: fx.prefix,
      env: { ...fx.env, EVENT_JOB_KEEP_COMPLETED: '0' },
      workerEnv: { REUPLOAD_BACKOFF_MS: '600000' },
      startTimeoutMs: 60_000,
    });
  }, 120_000);

  afterAll(async () => {
    const exits = await p?.stop();
    await fx?.stop();
    // A clean shutdown on SIGTERM exits 128 + 15 (1 would mean a shutdown step failed).
    expect(exits?.map((e) => e.code)).toEqual([143, 143]);
  });

  it('start-up lines name the cluster, the shards and the master of each', async () => {
    const nodes = fx.env.REDIS_CLUSTER_NODES!;
    const masters = await Promise.all(
      fx.shardPrefixes.map(async (shard, i) => `${i}=127.0.0.1:${await fx.cluster.masterOfKey(`${shard}:`)}`),
    );
    const where = `redis cluster via ${nodes} (shard masters ${masters.join(' ')}), REDIS_MIN_REPLICAS=0`;
    expect(p.ingress.output()).toContain(`ingress listening on ${p.ingressUrl}/callbacks/vod, ${where}`);
    expect(p.worker.output()).toContain('worker consuming vod-events in shards 0,1,2 of 3');
    expect(p.worker.output()).toContain(where);
  });

  it('gives the seed samples and the mix the right outcomes, each in its source’s shard, duplicates collapsed', async () => {
    const seedBodies = [seeds.success, seeds.failure, seeds.transient];
    for (const body of seedBodies) expect(await postCallback(p.ingressUrl, body)).toBe(200);
    await sendMix(p, async () => (await processedTotal(p.workerMetricsUrl)) - seedBodies.length);
    // Redeliveries of the seeds, processed and removed by now: each collapses onto its outcome.
    for (const body of seedBodies) expect(await postCallback(p.ingressUrl, body)).toBe(200);
    const expected =
      seedBodies.length + MIX.success + MIX.retryable + MIX.permanent + MIX.unknown + MIX.invalidPayload;
    await waitFor(
      'the redeliveries processed',
      async () => (await processedTotal(p.workerMetricsUrl)) >= expected + MIX.duplicates + seedBodies.length,
      30_000,
      200,
    );
    const outcomes = await shardOutcomes(fx.client, fx.shardPrefixes);
    const byId = new Map<string, ShardOutcome[]>();
    for (const o of outcomes) byId.set(o.record.requestId, [...(byId.get(o.record.requestId) ?? []), o]);
    // Exactly one outcome per RequestId, duplicates included.
    expect(outcomes).toHaveLength(expected);
    expect([...byId.values()].filter((list) => list.length !== 1)).toEqual([]);

    const one = (id: string) => byId.get(id)![0]!;
    expect(one(seeds.success.RequestId).record).toMatchObject({
      decision: 'succeeded',
      vid: seeds.success.Data.Vid,
      callbackArgs: seeds.success.Data.CallbackArgs,
    });
    expect(one(seeds.failure.RequestId).record).toMatchObject({
      decision: 'failed_permanent',
      code: 'DownloadFailed.UrlDownloadFail',
    });
    expect(one(seeds.transient.RequestId).record).toMatchObject({
      decision: 'reupload_scheduled',
      class: 'retryable',
    });
    // Each seed's outcome sits in the shard its source hashes to.
    for (const body of seedBodies) expect(one(body.RequestId).shard).toBe(shardOfEvent(body, SHARDS));

    const decisions: Record<string, number> = {};
    for (const { record } of outcomes) {
      const key = `${record.decision}/${record.class}`;
      decisions[key] = (decisions[key] ?? 0) + 1;
    }
    expect(decisions).toEqual({
      'succeeded/success': MIX.success + 1,
      'failed_permanent/permanent': MIX.permanent + 1,
      'reupload_scheduled/retryable': MIX.retryable + 1,
      'dead_lettered/unknown': MIX.unknown,
      'dead_lettered/invalid': MIX.invalidPayload,
    });
    expect(outcomes.filter((o) => o.record.code === MIX_CODES.unknown)).toHaveLength(MIX.unknown);
    // The mix's sources are spread: more than one shard got outcomes.
    expect(new Set(outcomes.map((o) => o.shard)).size).toBeGreaterThan(1);
    // Every re-upload is scheduled in the shard of its event.
    const delayed = await Promise.all(
      fx.shardPrefixes.map((s) => fx.client.zcard(queueKeys(s, REUPLOADS_QUEUE).delayed)),
    );
    const retryableByShard = fx.shardPrefixes.map(
      (_, shard) =>
        outcomes.filter((o) => o.shard === shard && o.record.decision === 'reupload_scheduled').length,
    );
    expect(delayed).toEqual(retryableByShard);
  });

  it('keeps each shard’s keys on the master of its hash tag, at least two masters in all', async () => {
    const holders = new Set<number>();
    for (const shard of fx.shardPrefixes) {
      const port = await fx.cluster.masterOfKey(`${shard}:outcomes`);
      // That master alone lists the shard's keys: its queues and its outcomes stream.
      const keys = await keysOn(port, `${shard}:*`);
      expect(keys, shard).toContain(`${shard}:vod-events:meta`);
      for (const other of (await fx.cluster.masters()).filter((m) => m.port !== port))
        expect(await keysOn(other.port, `${shard}:*`), `${shard} on ${other.port}`).toEqual([]);
      holders.add(port);
    }
    expect(holders.size).toBeGreaterThanOrEqual(2);
  });

  it('refuses to start an ingress when any master evicts (each master is checked, not just one)', async () => {
    // The master of the last shard: not the one REDIS_URL names (the cluster's first), as a single check would read.
    const masters = await fx.cluster.masters();
    const evicting = masters.at(-1)!.port;
    const node = new Redis(evicting, '127.0.0.1', { maxRetriesPerRequest: 1 });
    try {
      await node.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const ingress = await startApp(
        'ingress',
        {
          ...fx.env,
          INGRESS_HOST: '127.0.0.1',
          INGRESS_PORT: String(await freePort()),
          CALLBACK_AUTH: 'none',
        },
        undefined,
      );
      const exit = await ingress.exited;
      expect(exit.code, ingress.output()).toBe(78);
      expect(ingress.output()).toContain(`maxmemory-policy is allkeys-lru on 127.0.0.1:${evicting}`);
    } finally {
      await node.config('SET', 'maxmemory-policy', 'noeviction');
      node.disconnect();
    }
  });
});
