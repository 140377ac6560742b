import { QUEUE_NAMES } from '@vod-callbacks/shared';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../format.js';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/** `vodctl queues [--json]` — job counts per state of every queue. */
export const queuesCommand: Command = {
  path: ['queues'],
  usage: '[--json]',
  summary: 'Job counts per state of vod-events, vod-reuploads and vod-dead-letters.',
  options: { json: { type: 'boolean' } },
  validate({ positionals }) {
    if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
  },
  async run(ctx, { values }) {
    const counts: Record<string, Record<string, number>> = {};
    for (const name of QUEUE_NAMES) counts[name] = await ctx.queue(name).getJobCounts(...STATES);
    if (values.json) {
      ctx.out(JSON.stringify(counts));
      return EXIT.ok;
    }
    ctx.out(
      table(
        ['QUEUE', ...STATES.map((s) => s.toUpperCase())],
        QUEUE_NAMES.map((name) => [name, ...STATES.map((s) => String(counts[name]?.[s] ?? 0))]),
      ),
    );
    return EXIT.ok;
  },
};
