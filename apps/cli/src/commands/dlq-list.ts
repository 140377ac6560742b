import { type Command, takesNoArgument } from '../command.js';
import { type DeadLetter, iterateDeadLetters } from '../dead-letters.js';
import { parsePositiveInt } from '../duration.js';
import { EXIT } from '../exit-codes.js';
import { cell, parseReason, table } from '../format.js';

/** `vodctl dlq list [--reason R] [--limit N] [--json]` */
export const dlqListCommand: Command = {
  path: ['dlq', 'list'],
  usage: '[--reason R] [--limit N] [--json]',
  summary: 'List dead letters, oldest first (default limit 50).',
  options: {
    reason: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  validate(args) {
    takesNoArgument(args);
    const { values } = args;
    if (values.reason !== undefined) parseReason(String(values.reason));
    if (values.limit !== undefined) parsePositiveInt(String(values.limit), '--limit');
  },
  async run(ctx, { values }) {
    const reason = values.reason === undefined ? undefined : parseReason(String(values.reason));
    const limit = values.limit === undefined ? 50 : parsePositiveInt(String(values.limit), '--limit');
    const picked: DeadLetter[] = [];
    let matching = 0;
    for await (const dl of iterateDeadLetters(ctx)) {
      if (reason && dl.data.reason !== reason) continue;
      matching++;
      if (picked.length < limit) picked.push(dl);
    }
    if (values.json) {
      for (const dl of picked) ctx.out(JSON.stringify(summaryOf(dl)));
      return EXIT.ok;
    }
    if (picked.length === 0) {
      ctx.out(reason ? `no dead letters with reason ${reason}` : 'no dead letters');
      return EXIT.ok;
    }
    ctx.out(
      table(
        ['ID', 'REASON', 'DEAD-LETTERED', 'REQUEST ID', 'DETAIL'],
        picked.map((dl) => [
          dl.ref,
          dl.data.reason,
          new Date(dl.at).toISOString(),
          cell(dl.data.requestId ?? '-', 40),
          cell(dl.data.detail, 80),
        ]),
      ),
    );
    if (matching > picked.length) ctx.out(`(${picked.length} of ${matching} shown; use --limit)`);
    return EXIT.ok;
  },
};

function summaryOf(dl: DeadLetter) {
  return {
    id: dl.ref,
    reason: dl.data.reason,
    deadLetteredAt: new Date(dl.at).toISOString(),
    requestId: dl.data.requestId ?? null,
    detail: dl.data.detail,
  };
}
