import { readSourceState, stableHash } from '@vod-callbacks/shared';
import type { CliContext } from '../cli-context.js';
import type { Command } from '../command.js';
import { EXIT, notFound } from '../exit-codes.js';

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Finds the source key of a JobId (via the upload-job mapping) or of a SourceUrl. */
async function sourceKeyFor(
  ctx: CliContext,
  arg: string,
): Promise<{ sourceKey: string; via: 'jobId' | 'sourceUrl' } | undefined> {
  if (URL_LIKE.test(arg)) {
    const key = await ctx.redis.get(ctx.keys.sourceByUrl(stableHash(arg)));
    return key ? { sourceKey: key, via: 'sourceUrl' } : undefined;
  }
  const raw = await ctx.redis.get(ctx.keys.uploadJob(arg));
  if (!raw) return undefined;
  try {
    const info = JSON.parse(raw) as { sourceKey?: unknown };
    return typeof info.sourceKey === 'string' && info.sourceKey
      ? { sourceKey: info.sourceKey, via: 'jobId' }
      : undefined;
  } catch {
    return undefined;
  }
}

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
    const found = await sourceKeyFor(ctx, arg);
    const state = found ? await readSourceState(ctx.redis, ctx.keys.sourceState(found.sourceKey)) : {};
    if (!found || Object.keys(state).length === 0) {
      throw notFound(
        `nothing recorded for ${URL_LIKE.test(arg) ? 'SourceUrl' : 'JobId'} ${JSON.stringify(arg)}`,
      );
    }
    // A JobId this system started (a re-upload) may still wait for its callback.
    const pendingJobId = found.via === 'jobId' ? arg : state.jobId;
    const pendingSince = pendingJobId ? await ctx.redis.zscore(ctx.keys.pendingUploads, pendingJobId) : null;
    const result: Record<string, string> = { ...state };
    if (pendingSince !== null) result.callbackPendingSince = new Date(Number(pendingSince)).toISOString();
    if (values.json) {
      ctx.out(JSON.stringify(result));
      return EXIT.ok;
    }
    const width = Math.max(...Object.keys(result).map((k) => k.length));
    for (const k of Object.keys(result).sort()) ctx.out(`${k.padEnd(width)}  ${result[k]}`);
    return EXIT.ok;
  },
};
