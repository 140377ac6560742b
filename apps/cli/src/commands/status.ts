import { lookupUploadStatusInShards, uploadStatusBody } from '@vod-callbacks/shared';
import { type Command, takesOneArgument } from '../command.js';
import { EXIT, notFound } from '../exit-codes.js';
import { displayWidth, escapeControl } from '../format.js';

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** `vodctl status <JobId|SourceUrl> [--json]` — the latest recorded state of one source. */
export const statusCommand: Command = {
  path: ['status'],
  usage: '<JobId|SourceUrl> [--json]',
  summary: 'Latest outcome of a source, looked up by a VOD JobId or by its SourceUrl.',
  options: { json: { type: 'boolean' } },
  validate: takesOneArgument('JobId or SourceUrl'),
  async run(ctx, { positionals, values }) {
    const arg = positionals[0]!;
    // SourceUrl is matched exactly as VOD reported it, which need not have a scheme
    // (`cdn.example.com/v.mp4`), so an argument that is not URL-like is tried as a JobId first, then as a URL.
    const order = URL_LIKE.test(arg) ? (['sourceUrl', 'jobId'] as const) : (['jobId', 'sourceUrl'] as const);
    let result: Record<string, string> | undefined;
    for (const by of order) {
      // Every shard is asked: a JobId or a URL alone does not say which source, so which shard.
      result = await lookupUploadStatusInShards(
        ctx.redis,
        ctx.layout,
        by === 'jobId' ? { jobId: arg } : { sourceUrl: arg },
      );
      if (result) break;
    }
    if (!result) throw notFound(`nothing recorded for JobId or SourceUrl ${JSON.stringify(arg)}`);
    if (values.json) {
      // The status API's body: `attempt` a number.
      ctx.out(JSON.stringify(uploadStatusBody(result)));
      return EXIT.ok;
    }
    const keys = Object.keys(result).sort();
    const width = Math.max(...keys.map(displayWidth));
    for (const k of keys)
      ctx.out(`${k}${' '.repeat(width - displayWidth(k))}  ${escapeControl(result[k] ?? '')}`);
    return EXIT.ok;
  },
};
