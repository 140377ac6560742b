import { closeAll, parseUploadJobRecord, shardOfSource } from '@vod-callbacks/shared';
import {
  reconcileJobIds,
  SyntheticEventWriter,
  VodApiClient,
  vodApiOptionsOf,
} from '@vod-callbacks/vod-client';
import type { Command } from '../command.js';
import { CliError, EXIT } from '../exit-codes.js';

const MAX_JOB_IDS = 1000;

/** The JobIds of `--job-ids a,b,c` (trimmed, deduplicated). */
export function parseJobIds(raw: string): string[] {
  return [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/**
 * `vodctl reconcile --job-ids a,b,c [--json]` — looks JobIds up with QueryUploadTaskInfo (20 per
 * call) and feeds finished ones into `vod-events` as synthetic callbacks (RequestId
 * `reconcile:<JobId>`), exactly as the worker's reconciler does for its own pending uploads. For
 * jobs started elsewhere, or callbacks VOD gave up on. Reads VOLC_ACCESSKEY/VOLC_SECRETKEY and
 * VOD_API_* like the worker.
 */
export const reconcileCommand: Command = {
  path: ['reconcile'],
  usage: '--job-ids <a,b,c> [--json]',
  summary: 'Look JobIds up with QueryUploadTaskInfo and process finished ones like their lost callbacks.',
  options: { 'job-ids': { type: 'string' }, json: { type: 'boolean' } },
  validate({ values }) {
    const ids = parseJobIds(String(values['job-ids'] ?? ''));
    if (ids.length === 0) throw new Error('--job-ids is required (comma-separated JobIds)');
    if (ids.length > MAX_JOB_IDS) throw new Error(`at most ${MAX_JOB_IDS} JobIds per run`);
  },
  async run(ctx, { values }) {
    const options = vodApiOptionsOf(ctx.config);
    if (!options)
      throw new CliError(EXIT.config, 'VOLC_ACCESSKEY and VOLC_SECRETKEY must be set to query VOD');
    // A JobId's record lives in its source's shard, which the JobId alone does not tell: every
    // shard is asked, and the synthetic event goes where the record is; for a JobId this system did
    // not start, to the shard of the source VOD reports (where the ingress would route its callback).
    const recordShard = new Map<string, number>();
    const writers = new Map<number, SyntheticEventWriter>();
    const writerOf = (shard: number) => {
      let w = writers.get(shard);
      if (!w) {
        w = new SyntheticEventWriter(ctx.redis, ctx.layout.prefixes[shard]!, ctx.config);
        writers.set(shard, w);
      }
      return w;
    };
    try {
      const report = await reconcileJobIds(parseJobIds(String(values['job-ids'])), {
        api: new VodApiClient(options),
        knownSource: async (jobId) => {
          for (let shard = 0; shard < ctx.layout.count; shard++) {
            const record = parseUploadJobRecord(await ctx.redis.get(ctx.keysOf(shard).uploadJob(jobId)));
            if (!record) continue;
            recordShard.set(jobId, shard);
            return record.source;
          }
          return undefined;
        },
        emit: (event) => {
          const { JobId, SpaceName, SourceUrl, CallbackArgs } = event.Data;
          const shard =
            recordShard.get(JobId) ??
            shardOfSource(SpaceName, SourceUrl, CallbackArgs ?? '', ctx.layout.count);
          return writerOf(shard).add(event, ctx.now());
        },
        now: () => ctx.now(),
      });
      if (values.json) {
        ctx.out(JSON.stringify(report));
      } else {
        for (const e of report.emitted) ctx.out(`${e.jobId}  ${e.state}  queued as ${e.requestId}`);
        for (const id of report.running) ctx.out(`${id}  running  not finished yet; run again later`);
        for (const id of report.notFound) ctx.out(`${id}  not_found  VOD does not know this JobId`);
        for (const id of report.incomplete)
          ctx.out(`${id}  incomplete  finished, but its SpaceName/SourceUrl is unknown`);
        for (const e of report.errors) ctx.out(`${e.jobIds.join(',')}  error  ${e.code}: ${e.message}`);
      }
      const clean = report.notFound.length + report.incomplete.length + report.errors.length === 0;
      return clean ? EXIT.ok : EXIT.failed;
    } finally {
      await closeAll(
        Object.fromEntries(
          [...writers].map(([shard, w]) => [`vod-events queue (shard ${shard})`, () => w.close()]),
        ),
      );
    }
  },
};
