import { MAX_EVENT_SHARDS, shardCountKey } from '@vod-callbacks/shared';
import type { CliContext } from './cli-context.js';
import { CliError, EXIT } from './exit-codes.js';

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

/**
 * Throws (exit 78, like the other processes) when Redis records another EVENT_SHARDS than this
 * config's: the command would look at shards no process uses (`vodctl queues` would print zeros,
 * a replay would land where no worker reads). Nothing recorded is fine: no sharded process ran yet.
 */
export async function refuseOtherShardCount(ctx: CliContext): Promise<void> {
  const recorded = await readRecordedShards(ctx);
  if (recorded.raw === null || recorded.count === ctx.config.EVENT_SHARDS) return;
  throw new CliError(
    EXIT.config,
    `configuration error: EVENT_SHARDS=${ctx.config.EVENT_SHARDS}, but this Redis records ${JSON.stringify(recorded.raw)} for QUEUE_PREFIX ${JSON.stringify(ctx.config.QUEUE_PREFIX)} (${recorded.key}); run vodctl with the deployment's EVENT_SHARDS (\`vodctl shards\` shows it)`,
  );
}
