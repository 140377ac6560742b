import { outcomeFromFields } from '@vod-callbacks/shared';
import { waitFor } from '@vod-callbacks/test-support';
import { type Cluster, Redis } from 'ioredis';
import { clusterClient } from '../support/cluster-client.js';
import { reportFigures } from '../support/figures.js';
import type { LoadStats } from './fault-harness.js';

// The verdict of a fault test: whether every acknowledged callback has exactly one outcome, and the
// figures of the run printed with it. The load and the processes are fault-harness.ts's.

/**
 * Where a test's outcomes are: a Redis URL, or a Redis Cluster (its `REDIS_CLUSTER_NODES`, e.g. the
 * `env` of `startRedisCluster`).
 */
export type OutcomeRedis = string | { REDIS_CLUSTER_NODES: string };

/**
 * Outcomes per RequestId in `<prefix>:outcomes` of every prefix given: with EVENT_SHARDS > 1 each
 * shard prefix has a stream of its own, and an event's outcome may be in any of them.
 */
export async function outcomeCounts(
  redis: Redis | Cluster,
  prefixes: string | readonly string[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const prefix of typeof prefixes === 'string' ? [prefixes] : prefixes) {
    let start = '-';
    for (;;) {
      const rows = await redis.xrange(`${prefix}:outcomes`, start, '+', 'COUNT', 2000);
      for (const [, fields] of rows) {
        const id = outcomeFromFields(fields).requestId;
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      if (rows.length < 2000) break;
      start = `(${rows.at(-1)![0]}`;
    }
  }
  return counts;
}

/** The verdict of a fault test: every acknowledged RequestId with exactly one outcome. */
export interface Verdict {
  acked: number;
  lost: string[];
  duplicated: string[];
}

/**
 * Waits until every acked id has an outcome (or `timeoutMs`), then counts lost and doubled ones,
 * across the outcomes streams of every prefix in `prefixes` (one per event shard).
 */
export async function verifyExactlyOnce(
  where: OutcomeRedis,
  prefixes: string | readonly string[],
  acked: Set<string>,
  timeoutMs = 60_000,
): Promise<Verdict> {
  const redis =
    typeof where === 'string'
      ? new Redis(where, { maxRetriesPerRequest: 3 })
      : clusterClient(where.REDIS_CLUSTER_NODES);
  try {
    await waitFor(
      'an outcome for every acknowledged callback',
      async () => {
        const counts = await outcomeCounts(redis, prefixes);
        return [...acked].every((id) => counts.has(id));
      },
      timeoutMs,
      500,
    ).catch(() => undefined); // the verdict below reports what is missing
    // Give late duplicates (a recovered stalled job, a straggling copy) time to show up.
    await new Promise((r) => setTimeout(r, 1500));
    const counts = await outcomeCounts(redis, prefixes);
    return {
      acked: acked.size,
      lost: [...acked].filter((id) => !counts.has(id)),
      duplicated: [...counts].filter(([, n]) => n > 1).map(([id]) => id),
    };
  } finally {
    redis.disconnect();
  }
}

/** Prints the figures of a fault test and appends them to test-output/fault-figures.jsonl. */
export function report(
  test: string,
  stats: LoadStats,
  verdict: Verdict,
  extra: Record<string, unknown> = {},
): void {
  const figures = {
    test,
    sent: stats.sent,
    acked: verdict.acked,
    unavailable503: stats.unavailable,
    other: stats.other,
    connectionErrors: stats.errors,
    lost: verdict.lost.length,
    duplicated: verdict.duplicated.length,
    streamSeconds: Math.round(stats.durationMs / 100) / 10,
    byPhase: stats.byPhase,
    ...extra,
  };
  reportFigures('fault', 'fault-figures.jsonl', figures);
}
