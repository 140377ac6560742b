import type { Command, CommandArgs } from '../command.js';
import { type DeadLetterSelector, planReplay, replayDeadLetter, selectDeadLetters } from '../dead-letters.js';
import { EXIT, notFound, usageError } from '../exit-codes.js';
import { parseReason } from '../format.js';

function selectorOf({ values, positionals }: CommandArgs): DeadLetterSelector {
  const given = [positionals.length > 0, values.reason !== undefined, values.all === true].filter(Boolean);
  if (given.length !== 1 || positionals.length > 1)
    throw usageError('give exactly one of: a dead letter id, --reason R, --all');
  if (positionals[0] !== undefined) return { id: positionals[0] };
  if (values.reason !== undefined) return { reason: parseReason(String(values.reason)) };
  return { all: true };
}

/**
 * `vodctl dlq replay <id|--reason R|--all> [--dry-run]` — puts each selected dead letter's
 * original event back through processing once (see `replayDeadLetter` for why it is idempotent).
 */
export const dlqReplayCommand: Command = {
  path: ['dlq', 'replay'],
  usage: '<id> | --reason R | --all [--dry-run]',
  summary: 'Put dead letters back through processing once (idempotent); --dry-run only lists them.',
  options: {
    reason: { type: 'string' },
    all: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  },
  validate: (args) => void selectorOf(args),
  async run(ctx, args) {
    const selector = selectorOf(args);
    const dryRun = args.values['dry-run'] === true;
    const picked = await selectDeadLetters(ctx, selector);
    if ('id' in selector && picked.length === 0)
      throw notFound(`no dead letter ${JSON.stringify(selector.id)}`);
    let replayed = 0;
    let skipped = 0;
    for (const dl of picked) {
      const plan = planReplay(ctx.layout, dl);
      if ('problem' in plan) {
        skipped++;
        ctx.err(`skipped ${dl.ref}: ${plan.problem}`);
        continue;
      }
      if (dryRun) {
        ctx.out(`would replay ${dl.ref} (${dl.data.reason}) → ${plan.queue} job ${plan.jobRef}`);
      } else {
        await replayDeadLetter(ctx, dl, plan);
        ctx.out(`replayed ${dl.ref} (${dl.data.reason}) → ${plan.queue} job ${plan.jobRef}`);
      }
      replayed++;
    }
    ctx.out(`${dryRun ? 'would replay' : 'replayed'} ${replayed}, skipped ${skipped}`);
    return skipped > 0 ? EXIT.failed : EXIT.ok;
  },
};
