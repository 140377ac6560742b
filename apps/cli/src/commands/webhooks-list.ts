import { type Command, takesNoArgument } from '../command.js';
import { parsePositiveInt } from '../duration.js';
import { EXIT } from '../exit-codes.js';
import { cell, table } from '../format.js';
import { iterateFailedDeliveries } from '../webhook-dead-letters.js';

/** `vodctl webhooks list [--limit N] [--json]` — outcome webhooks that could not be delivered. */
export const webhooksListCommand: Command = {
  path: ['webhooks', 'list'],
  usage: '[--limit N] [--json]',
  summary: 'List failed outcome webhook deliveries (dead letters), oldest first (default limit 50).',
  options: { limit: { type: 'string' }, json: { type: 'boolean' } },
  validate(args) {
    takesNoArgument(args);
    const { values } = args;
    if (values.limit !== undefined) parsePositiveInt(String(values.limit), '--limit');
  },
  async run(ctx, { values }) {
    const limit = values.limit === undefined ? 50 : parsePositiveInt(String(values.limit), '--limit');
    const rows: string[][] = [];
    let matching = 0;
    for await (const dl of iterateFailedDeliveries(ctx)) {
      matching++;
      if (rows.length >= limit) continue;
      const n = dl.data.notification!;
      if (values.json) {
        ctx.out(
          JSON.stringify({
            id: dl.ref,
            reason: dl.data.reason,
            deadLetteredAt: new Date(dl.at).toISOString(),
            webhookId: n.webhookId,
            type: `vod.upload.${n.outcome.decision}`,
            requestId: n.outcome.requestId,
            detail: dl.data.detail,
          }),
        );
      }
      rows.push([
        dl.ref,
        dl.data.reason,
        new Date(dl.at).toISOString(),
        n.webhookId,
        n.outcome.decision,
        cell(dl.data.detail, 70),
      ]);
    }
    if (values.json) return EXIT.ok;
    if (rows.length === 0) {
      ctx.out('no failed webhook deliveries');
      return EXIT.ok;
    }
    ctx.out(table(['ID', 'REASON', 'DEAD-LETTERED', 'WEBHOOK ID', 'DECISION', 'DETAIL'], rows));
    if (matching > rows.length) ctx.out(`(${rows.length} of ${matching} shown; use --limit)`);
    return EXIT.ok;
  },
};
