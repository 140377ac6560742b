import { MAX_EVENT_SHARDS, shardCountKey } from '@vod-callbacks/shared';
import type { CliContext } from './cli-context.js';

/** The EVENT_SHARDS recorded in Redis for QUEUE_PREFIX (set by the first process that started). */
export interface RecordedShards {
  /** The key holding it (outside every shard). */
  key: string;
  /** Its value as stored; null when nothing is recorded. */
  raw: string | null;
  /** The count, when the value is one (1 to MAX_EVENT_SHARDS). */
  count?: number;
}

export async function readRecordedShards(ctx: CliContext): Promise<RecordedShards> {
  const key = shardCountKey(ctx.config.QUEUE_PREFIX);
  const raw = await ctx.redis.get(key);
  const n = Number(raw);
  const valid = raw !== null && /^\d+$/.test(raw) && n >= 1 && n <= MAX_EVENT_SHARDS;
  return { key, raw, ...(valid && { count: n }) };
}
