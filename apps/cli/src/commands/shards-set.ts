import {
  isCluster,
  MAX_EVENT_SHARDS,
  prefixHasHashTag,
  QUEUE_NAMES,
  RedisKeys,
  type ShardLayout,
  shardLayoutOf,
} from '@vod-callbacks/shared';
import type { CliContext } from '../cli-context.js';
import { type Command, takesOneArgument } from '../command.js';
import { parsePositiveInt } from '../duration.js';
import { CliError, EXIT, refused } from '../exit-codes.js';
import { type ShardBacklog, shardBacklogs } from '../job-counts.js';
import { readRecordedShards } from '../recorded-shards.js';

// Sets the count only if it is still the one that was checked (another `shards set`, or a process
// recording its count at start, may have written meanwhile). One key: fine on Redis Cluster.
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return current or '' end
redis.call('SET', KEYS[1], ARGV[2])
return true
`;

const countOf = (text: string) => parsePositiveInt(text, 'the shard count', MAX_EVENT_SHARDS);

/**
 * `vodctl shards set <N> [--dry-run]` — the way to change EVENT_SHARDS. Events are routed by a
 * hash of their source modulo N, so jobs queued under the old count would be processed beside the
 * state of another shard (or by no worker at all): it refuses unless every working queue of the
 * recorded layout is drained, then records N. Dead letters may stay; it says where they are.
 */
export const shardsSetCommand: Command = {
  path: ['shards', 'set'],
  anyShardCount: true,
  usage: '<N> [--dry-run]',
  summary:
    'Record a new EVENT_SHARDS once every queue of the recorded layout is drained (refused, exit 4, while jobs remain).',
  options: { 'dry-run': { type: 'boolean' } },
  validate(args) {
    takesOneArgument('shard count')(args);
    countOf(args.positionals[0]!);
  },
  async run(ctx, { positionals, values }) {
    const target = countOf(positionals[0]!);
    const dryRun = values['dry-run'] === true;
    const recorded = await readRecordedShards(ctx);
    if (recorded.raw !== null && recorded.count === undefined)
      throw new CliError(
        EXIT.failed,
        `${recorded.key} holds ${JSON.stringify(recorded.raw)}, not a shard count: find out which processes ran with which EVENT_SHARDS before changing it by hand`,
      );
    if (recorded.count === target) {
      ctx.out(`EVENT_SHARDS=${target} is already recorded (${recorded.key}); nothing to do`);
      return EXIT.ok;
    }
    // Nothing recorded: no process of a sharded build has started, so whatever ran used one shard
    // (QUEUE_PREFIX itself), where an older deployment's queues are.
    const from = shardLayoutOf(ctx.config.QUEUE_PREFIX, recorded.count ?? 1);
    const to = shardLayoutOf(ctx.config.QUEUE_PREFIX, target);
    // On Redis Cluster a prefix without a hash tag cannot hold BullMQ queues (every process refuses
    // it), and reading one fails: a single shard named so has nothing to drain.
    const holdsQueues = !isCluster(ctx.redis) || from.prefixes.every(prefixHasHashTag);
    const checked = holdsQueues ? from.prefixes : [];
    const backlogs = await shardBacklogs(ctx, checked);
    const queued = describeUnfinished(checked, backlogs);
    if (queued.length > 0)
      throw refused(
        `${from.count} → ${target} refused: jobs of the recorded layout (EVENT_SHARDS=${from.count}) are not finished: ${queued.join('; ')}. ` +
          'Stop the ingresses, let the workers drain these queues and receive (or reconcile) the awaited callbacks (`vodctl shards` with EVENT_SHARDS=' +
          `${from.count}), stop the workers, then run this again.`,
      );
    if (dryRun) {
      ctx.out(`would record EVENT_SHARDS=${target} (now ${recorded.raw ?? 'none'}): every queue is drained`);
    } else {
      const swapped = await ctx.redis.eval(
        COMPARE_AND_SET,
        1,
        recorded.key,
        recorded.raw ?? '',
        String(target),
      );
      if (swapped !== 1)
        throw new CliError(
          EXIT.failed,
          `${recorded.key} changed while the queues were checked (now ${JSON.stringify(swapped)}): a process started or another \`vodctl shards set\` ran; run this again`,
        );
      ctx.out(
        `recorded EVENT_SHARDS=${target} (was ${recorded.raw ?? 'none'}): start the ingresses and workers with EVENT_SHARDS=${target}`,
      );
    }
    for (const line of await leftBehind(ctx, checked, from, to, backlogs)) ctx.out(line);
    return EXIT.ok;
  },
};

/**
 * `shard 0 ({vod-0}) vod-events: 2 waiting, 1 delayed` for every working queue that is not drained,
 * and the re-uploads still awaiting their callback: after the change that callback is routed by the
 * new count, while the old shard's reconciler would still ask VOD and record the upload again.
 */
function describeUnfinished(prefixes: readonly string[], backlogs: readonly ShardBacklog[]): string[] {
  return backlogs.flatMap((b, shard) => [
    ...QUEUE_NAMES.flatMap((name) => {
      const states = Object.entries(b.unfinished[name] ?? {}).filter(([, n]) => n > 0);
      if (states.length === 0) return [];
      return [
        `shard ${shard} (${prefixes[shard]}) ${name}: ${states.map(([s, n]) => `${n} ${s}`).join(', ')}`,
      ];
    }),
    ...(b.awaitingCallback > 0
      ? [`shard ${shard} (${prefixes[shard]}): ${b.awaitingCallback} re-upload(s) awaiting their callback`]
      : []),
  ]);
}

/**
 * What stays in the old layout's shards (`checked`, by index as in `backlogs`): dead letters (where `vodctl dlq` finds them, or that it no
 * longer does), and the per-source state, which is not moved.
 */
async function leftBehind(
  ctx: CliContext,
  checked: readonly string[],
  from: ShardLayout,
  to: ShardLayout,
  backlogs: readonly ShardBacklog[],
): Promise<string[]> {
  const lines: string[] = [];
  for (const [shard, b] of backlogs.entries()) {
    if (b.deadLetters === 0) continue;
    const prefix = checked[shard]!;
    const kept = to.prefixes.indexOf(prefix);
    lines.push(
      kept >= 0
        ? `${b.deadLetters} dead letters stay in shard ${kept} (${prefix}), where \`vodctl dlq\` sees them`
        : `${b.deadLetters} dead letters stay under ${prefix}, which EVENT_SHARDS=${to.count} does not have: \`vodctl dlq\` no longer sees them. To keep them, set ${from.count} back, replay them (\`vodctl dlq replay --all\`), let the workers drain, then change again`,
    );
  }
  let awaiting = 0;
  for (const prefix of checked) awaiting += await ctx.redis.zcard(new RedisKeys(prefix).pendingUploads);
  if (from.count !== to.count)
    lines.push(
      `per-source state is not moved: a source whose shard changes starts afresh in its new shard (latest outcome for \`vodctl status\`, dedupe markers, re-upload budget)${awaiting > 0 ? `; ${awaiting} re-uploads this system started still wait for their callback, which finds their record only if their source keeps its shard` : ''}`,
    );
  return lines;
}
