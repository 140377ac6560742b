import type { Command, CommandArgs } from '../command.js';
import { type DeadLetter, planReplay, replayDeadLetter } from '../dead-letters.js';
import { EXIT, notFound, usageError } from '../exit-codes.js';
import { getFailedDelivery, iterateFailedDeliveries } from '../webhook-dead-letters.js';

function selectorOf({ values, positionals }: CommandArgs): { id: string } | { all: true } {
  if ((positionals.length === 1) === (values.all === true) || positionals.length > 1)
    throw usageError('give exactly one of: a dead letter id, --all');
  return positionals[0] !== undefined ? { id: positionals[0] } : { all: true };
}

/**
 * `vodctl webhooks replay <id|--all> [--dry-run]` — sends failed outcome webhooks again, with their
 * original webhook-id (receivers drop a repeat), through vod-notifications and its retries.
 */
export const webhooksReplayCommand: Command = {
  path: ['webhooks', 'replay'],
  usage: '<id> | --all [--dry-run]',
  summary:
    'Deliver failed outcome webhooks again (same webhook-id, fresh retries); --dry-run only lists them.',
  options: { all: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
  validate: (args) => void selectorOf(args),
  async run(ctx, args) {
    const selector = selectorOf(args);
    const dryRun = args.values['dry-run'] === true;
    const picked: DeadLetter[] = [];
    if ('id' in selector) {
      const dl = await getFailedDelivery(ctx, selector.id);
      if (!dl) throw notFound(`no failed webhook delivery ${JSON.stringify(selector.id)}`);
      picked.push(dl);
    } else {
      for await (const dl of iterateFailedDeliveries(ctx)) picked.push(dl);
    }
    for (const dl of picked) {
      const plan = planReplay(ctx.layout, dl);
      if ('problem' in plan) throw new Error(plan.problem); // cannot happen: it carries a notification
      if (!dryRun) await replayDeadLetter(ctx, dl, plan);
      ctx.out(
        `${dryRun ? 'would replay' : 'replayed'} ${dl.ref} (${dl.data.reason}, ${dl.data.notification!.webhookId}) → ${plan.queue} job ${plan.jobRef}`,
      );
    }
    ctx.out(`${dryRun ? 'would replay' : 'replayed'} ${picked.length}`);
    return EXIT.ok;
  },
};
