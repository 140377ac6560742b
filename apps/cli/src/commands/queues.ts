import { QUEUE_NAMES } from '@vod-callbacks/shared';
import { type Command, takesNoArgument } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../format.js';
import { countShardJobs, sumShardCounts } from '../job-counts.js';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/**
 * `vodctl queues [--json]` — job counts per state of every queue, summed over the event shards;
 * with more than one shard, each shard's counts too (JSON: `shards`, by index).
 */
export const queuesCommand: Command = {
  path: ['queues'],
  usage: '[--json]',
  summary:
    'Job counts per state of vod-events, vod-reuploads, vod-dead-letters and vod-notifications (all shards, and each).',
  options: { json: { type: 'boolean' } },
  validate: takesNoArgument,
  async run(ctx, { values }) {
    const { layout } = ctx;
    const perShard = await countShardJobs(ctx, layout.prefixes, STATES);
    const total = sumShardCounts(perShard, STATES);
    const sharded = layout.count > 1;
    if (values.json) {
      // The totals keep the single-shard shape, so scripts reading them need no change.
      const shards = perShard.map((queues, shard) => ({ shard, prefix: layout.prefixes[shard], queues }));
      ctx.out(JSON.stringify(sharded ? { ...total, shards } : total));
      return EXIT.ok;
    }
    const numbers = (counts: Record<string, number> | undefined) =>
      STATES.map((s) => String(counts?.[s] ?? 0));
    const rows = QUEUE_NAMES.flatMap((name) =>
      sharded
        ? [
            [name, 'all', ...numbers(total[name])],
            ...perShard.map((counts, shard) => [name, String(shard), ...numbers(counts[name])]),
          ]
        : [[name, ...numbers(total[name])]],
    );
    const header = ['QUEUE', ...(sharded ? ['SHARD'] : []), ...STATES.map((s) => s.toUpperCase())];
    ctx.out(table(header, rows));
    return EXIT.ok;
  },
};
