import type { ShardLayout } from '@vod-callbacks/shared';
import { usageError } from './exit-codes.js';

/**
 * How `vodctl` names a job of one shard: `<shard>/<id>` when EVENT_SHARDS > 1, the bare id with one
 * shard (so a single-shard deployment sees the ids it always saw).
 */
export function shardQualifiedId(layout: ShardLayout, shard: number, id: string): string {
  return layout.count > 1 ? `${shard}/${id}` : id;
}

/** An id given on the command line: its shard when it names one (always with one shard). */
export interface ShardIdRef {
  shard?: number;
  id: string;
}

/**
 * Reads `<shard>/<id>` or a bare `<id>` (the project's job ids hold no `/`). A bare id with several
 * shards names no shard: the caller looks in each. A shard outside the layout is a usage error.
 */
export function parseShardQualifiedId(layout: ShardLayout, text: string): ShardIdRef {
  const m = /^(\d+)\/(.+)$/s.exec(text);
  if (!m) return layout.count === 1 ? { shard: 0, id: text } : { id: text };
  const shard = Number(m[1]);
  if (shard >= layout.count)
    throw usageError(
      `${JSON.stringify(text)} names shard ${shard}, but EVENT_SHARDS=${layout.count} (shards 0 to ${layout.count - 1})`,
    );
  return { shard, id: m[2]! };
}
