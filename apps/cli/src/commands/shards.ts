import { isCluster } from '@vod-callbacks/shared';
import { type Command, takesNoArgument } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../format.js';
import { shardBacklogs } from '../job-counts.js';
import { readRecordedShards } from '../recorded-shards.js';

/**
 * `vodctl shards [--json]` — the event shards of this configuration beside the count recorded in
 * Redis, and per shard its prefix, unfinished jobs, dead letters and re-uploads awaiting their
 * callback, and on Redis Cluster its slot and the master serving it.
 */
export const shardsCommand: Command = {
  path: ['shards'],
  anyShardCount: true,
  usage: '[--json]',
  summary:
    'EVENT_SHARDS of this configuration and the count recorded in Redis; per shard its prefix, jobs, dead letters and (on a cluster) master.',
  options: { json: { type: 'boolean' } },
  validate: takesNoArgument,
  async run(ctx, { values }) {
    const { layout, redis } = ctx;
    const recorded = await readRecordedShards(ctx);
    const backlogs = await shardBacklogs(ctx, layout.prefixes);
    const cluster = isCluster(redis);
    const shards = await Promise.all(
      layout.prefixes.map(async (prefix, shard) => {
        const row = {
          shard,
          prefix,
          unfinishedJobs: backlogs[shard]!.unfinishedTotal,
          deadLetters: backlogs[shard]!.deadLetters,
          // Re-uploads this system started whose callback has not come: wait for them before a change.
          awaitingCallback: await redis.zcard(ctx.keysOf(shard).pendingUploads),
        };
        if (!cluster) return row;
        // The server's own answer for the slot, and the master the client's slot map names for it.
        const slot = Number(await redis.cluster('KEYSLOT', `${prefix}:`));
        return { ...row, slot, master: redis.slots[slot]?.[0] ?? null };
      }),
    );
    if (values.json) {
      ctx.out(
        JSON.stringify({
          eventShards: layout.count,
          recorded: recorded.count ?? recorded.raw,
          recordedKey: recorded.key,
          shards,
        }),
      );
      return EXIT.ok;
    }
    ctx.out(`EVENT_SHARDS of this configuration: ${layout.count}`);
    ctx.out(
      `recorded in Redis (${recorded.key}): ${recorded.raw ?? 'nothing yet (the first ingress or worker to start records its EVENT_SHARDS)'}`,
    );
    if (recorded.raw !== null && recorded.count !== layout.count)
      ctx.out(
        'they differ: an ingress or a worker with this configuration refuses to start (exit 78); `vodctl shards set <N>` changes the recorded count once the queues are drained',
      );
    ctx.out(
      table(
        [
          'SHARD',
          'PREFIX',
          'UNFINISHED JOBS',
          'DEAD LETTERS',
          'AWAITING CALLBACK',
          ...(cluster ? ['SLOT', 'MASTER'] : []),
        ],
        shards.map((s) => [
          String(s.shard),
          s.prefix,
          String(s.unfinishedJobs),
          String(s.deadLetters),
          String(s.awaitingCallback),
          ...('slot' in s ? [String(s.slot), s.master ?? 'none'] : []),
        ]),
      ),
    );
    return EXIT.ok;
  },
};
