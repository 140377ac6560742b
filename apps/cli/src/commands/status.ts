import { lookupUploadStatus } from '@vod-callbacks/shared';
import type { Command } from '../command.js';
import { EXIT, notFound } from '../exit-codes.js';

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** `vodctl status <JobId|SourceUrl> [--json]` — the latest recorded state of one source. */
export const statusCommand: Command = {
  path: ['status'],
  usage: '<JobId|SourceUrl> [--json]',
  summary: 'Latest outcome of a source, looked up by a VOD JobId or by its SourceUrl.',
  options: { json: { type: 'boolean' } },
  validate({ positionals }) {
    if (positionals.length !== 1) throw new Error('expects exactly one JobId or SourceUrl');
  },
  async run(ctx, { positionals, values }) {
    const arg = positionals[0]!;
    const byUrl = URL_LIKE.test(arg);
    const result = await lookupUploadStatus(ctx.redis, ctx.keys, byUrl ? { sourceUrl: arg } : { jobId: arg });
    if (!result)
      throw notFound(`nothing recorded for ${byUrl ? 'SourceUrl' : 'JobId'} ${JSON.stringify(arg)}`);
    if (values.json) {
      ctx.out(JSON.stringify(result));
      return EXIT.ok;
    }
    const width = Math.max(...Object.keys(result).map((k) => k.length));
    for (const k of Object.keys(result).sort()) ctx.out(`${k.padEnd(width)}  ${result[k]}`);
    return EXIT.ok;
  },
};
