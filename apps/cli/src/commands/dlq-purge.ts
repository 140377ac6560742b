import { type Command, takesNoArgument } from '../command.js';
import { type DeadLetter, iterateDeadLetters, removeDeadLetter } from '../dead-letters.js';
import { parseDuration } from '../duration.js';
import { EXIT, usageError } from '../exit-codes.js';
import { parseReason } from '../format.js';

/** `vodctl dlq purge --older-than 7d [--reason R] [--dry-run]` */
export const dlqPurgeCommand: Command = {
  path: ['dlq', 'purge'],
  usage: '--older-than <30m|12h|7d|2w> [--reason R] [--dry-run]',
  summary: 'Delete dead letters older than the given age (for good; replay first what matters).',
  options: {
    'older-than': { type: 'string' },
    reason: { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  validate(args) {
    takesNoArgument(args);
    const { values } = args;
    // Required so a bare `purge` can never empty the queue by accident.
    if (values['older-than'] === undefined) throw usageError('--older-than is required');
    parseDuration(String(values['older-than']), '--older-than');
    if (values.reason !== undefined) parseReason(String(values.reason));
  },
  async run(ctx, { values }) {
    const cutoff = ctx.now() - parseDuration(String(values['older-than']), '--older-than');
    const reason = values.reason === undefined ? undefined : parseReason(String(values.reason));
    const dryRun = values['dry-run'] === true;
    const old: DeadLetter[] = [];
    for await (const dl of iterateDeadLetters(ctx)) {
      if (dl.at < cutoff && (!reason || dl.data.reason === reason)) old.push(dl);
    }
    let removed = 0;
    if (!dryRun) for (const dl of old) if (await removeDeadLetter(ctx, dl)) removed++;
    ctx.out(
      dryRun
        ? `would purge ${old.length} dead letters older than ${new Date(cutoff).toISOString()}`
        : `purged ${removed} dead letters older than ${new Date(cutoff).toISOString()}`,
    );
    return EXIT.ok;
  },
};
