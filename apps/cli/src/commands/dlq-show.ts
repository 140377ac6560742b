import { type Command, takesOneArgument } from '../command.js';
import { getDeadLetter, planReplay } from '../dead-letters.js';
import { EXIT, notFound } from '../exit-codes.js';

/** `vodctl dlq show <id>` — the whole dead letter as JSON, with the original body parsed when it parses. */
export const dlqShowCommand: Command = {
  path: ['dlq', 'show'],
  usage: '<id>',
  summary: 'Show one dead letter in full (JSON): reason, detail, the original event or re-upload.',
  validate: takesOneArgument('dead letter id'),
  async run(ctx, { positionals }) {
    const ref = positionals[0]!;
    const dl = await getDeadLetter(ctx, ref);
    if (!dl) throw notFound(`no dead letter ${JSON.stringify(ref)}`);
    const plan = planReplay(ctx.layout, dl);
    let event: unknown;
    if (typeof dl.data.body === 'string') {
      try {
        event = JSON.parse(dl.data.body);
      } catch {
        event = undefined; // shown raw below
      }
    }
    ctx.out(
      JSON.stringify(
        {
          id: dl.ref,
          reason: dl.data.reason,
          detail: dl.data.detail,
          requestId: dl.data.requestId ?? null,
          deadLetteredAt: new Date(dl.at).toISOString(),
          replay:
            'problem' in plan
              ? { possible: false, why: plan.problem }
              : {
                  possible: true,
                  queue: plan.queue,
                  ...(ctx.layout.count > 1 && { shard: plan.shard }),
                  jobId: plan.jobRef,
                },
          event: event ?? null,
          rawBody: event === undefined ? (dl.data.body ?? null) : undefined,
          reupload: dl.data.reupload ?? undefined,
        },
        null,
        2,
      ),
    );
    return EXIT.ok;
  },
};
