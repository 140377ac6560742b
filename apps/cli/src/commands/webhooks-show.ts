import { webhookPayloadOf } from '@vod-callbacks/shared';
import { type Command, takesOneArgument } from '../command.js';
import { EXIT, notFound } from '../exit-codes.js';
import { getFailedDelivery } from '../webhook-dead-letters.js';

/** `vodctl webhooks show <id>` — one failed delivery: why, and the webhook a replay would send. */
export const webhooksShowCommand: Command = {
  path: ['webhooks', 'show'],
  usage: '<id>',
  summary: 'Show one failed webhook delivery (JSON): reason, last answer, the webhook-id and payload.',
  validate: takesOneArgument('dead letter id'),
  async run(ctx, { positionals }) {
    const ref = positionals[0]!;
    const dl = await getFailedDelivery(ctx, ref);
    if (!dl) throw notFound(`no failed webhook delivery ${JSON.stringify(ref)}`);
    const n = dl.data.notification!;
    ctx.out(
      JSON.stringify(
        {
          id: dl.ref,
          reason: dl.data.reason,
          detail: dl.data.detail,
          deadLetteredAt: new Date(dl.at).toISOString(),
          webhookId: n.webhookId,
          payload: webhookPayloadOf(n),
        },
        null,
        2,
      ),
    );
    return EXIT.ok;
  },
};
