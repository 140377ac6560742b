import { clusterSlotOf, type OutcomeRecord, outcomeFromFields, shardLayoutOf } from '@vod-callbacks/shared';
import { type RedisCluster, startRedisCluster, uniquePrefix } from '@vod-callbacks/test-support';
import type { Cluster } from 'ioredis';
import { clusterClient } from '../support/cluster-client.js';

/** A Redis Cluster for one test file, with a client and a queue prefix whose shards it spreads. */
export interface ClusterFixture {
  cluster: RedisCluster;
  /** A client of the test's own (reads outcomes and source state, never used by the apps). */
  client: Cluster;
  /** QUEUE_PREFIX of the test. */
  prefix: string;
  /** Key prefix of each shard, by index (`{<prefix>-i}`). */
  shardPrefixes: readonly string[];
  /** The environment every app of the test shares: the cluster's nodes, the prefix and EVENT_SHARDS. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * A prefix labelled `label` whose `shards` shard prefixes fall on at least two of the cluster's
 * masters. Shards are placed by hash (a prefix of three shards lands them all on one master one time
 * in nine), so the test picks a prefix that spreads them instead of passing by luck; the tests then
 * check where the apps' keys really are.
 */
async function spreadPrefix(cluster: RedisCluster, label: string, shards: number): Promise<string> {
  const masters = await cluster.masters();
  const ownerOf = (slot: number) =>
    masters.find((m) => m.slots.some(([from, to]) => slot >= from && slot <= to))?.port;
  for (;;) {
    const prefix = uniquePrefix(label);
    const owners = new Set(
      shardLayoutOf(prefix, shards).prefixes.map((p) => ownerOf(clusterSlotOf(`${p}:x`))),
    );
    if (owners.size >= 2) return prefix;
  }
}

/** Starts a 3 × 2 cluster and picks the test's prefix for `shards` event shards. */
export async function startClusterFixture(label: string, shards: number): Promise<ClusterFixture> {
  const cluster = await startRedisCluster();
  const prefix = await spreadPrefix(cluster, label, shards);
  const client = clusterClient(cluster.env.REDIS_CLUSTER_NODES);
  return {
    cluster,
    client,
    prefix,
    shardPrefixes: shardLayoutOf(prefix, shards).prefixes,
    env: { ...cluster.env, QUEUE_PREFIX: prefix, EVENT_SHARDS: String(shards) },
    async stop() {
      client.disconnect();
      await cluster.stop();
    },
  };
}

/** One outcome and the shard whose stream holds it. */
export interface ShardOutcome {
  shard: number;
  record: OutcomeRecord;
}

/** Every outcome of every shard's `<shard prefix>:outcomes` stream. */
export async function shardOutcomes(
  client: Cluster,
  shardPrefixes: readonly string[],
): Promise<ShardOutcome[]> {
  const out: ShardOutcome[] = [];
  for (const [shard, prefix] of shardPrefixes.entries()) {
    const rows = await client.xrange(`${prefix}:outcomes`, '-', '+');
    for (const [, fields] of rows) out.push({ shard, record: outcomeFromFields(fields) });
  }
  return out;
}
