import {
  type DeadLetterReason,
  type OutcomeRecord,
  type ReuploadJobData,
  sourceKeyOf,
  type WorkerMetrics,
} from '@vod-callbacks/shared';
import type { Logger } from 'pino';
import type { JobWriters } from '../job-writers.js';
import type { OutcomeStore } from '../outcome-store.js';
import type { UploadBatcher } from '../upload-batcher.js';
import type { UploadTracker } from '../upload-tracker.js';

/** What the re-upload processor needs. */
export interface ReuploadProcessorDeps {
  /** Undefined when VOLC_ACCESSKEY/VOLC_SECRETKEY are not set: re-uploads are dead-lettered. */
  batcher: UploadBatcher | undefined;
  store: OutcomeStore;
  /** Where a started re-upload is remembered (its JobId, pending its callback). */
  uploads: UploadTracker;
  writers: JobWriters;
  metrics: WorkerMetrics;
  logger: Logger;
  now?: () => number;
}

/** The part of a BullMQ job the processor reads. */
export interface ReuploadJobLike {
  id?: string;
  data: ReuploadJobData;
  /** Failed tries so far (BullMQ's `attemptsMade`). */
  attemptsMade?: number;
  opts?: { attempts?: number };
}

/** What handling one re-upload came to (a retryable API failure throws instead). */
export type ReuploadResult =
  | { result: 'accepted'; jobId: string }
  | { result: 'rejected' | 'no_credentials'; code: string };

/**
 * One `vod-reuploads` job: UploadMediaByUrl for its source (batched with others of the space by the
 * batcher), then the new JobId → source mapping, so its callback continues the attempt count and
 * reconciliation can find it. Throttling, 5xx and network failures throw (BullMQ retries with
 * backoff, bounded by REUPLOAD_API_ATTEMPTS); credential, signature and parameter errors, and
 * missing credentials, are dead-lettered at once with an outcome for the source.
 */
export async function processReupload(
  job: ReuploadJobLike,
  deps: ReuploadProcessorDeps,
): Promise<ReuploadResult> {
  const now = deps.now ?? Date.now;
  const { source, attempt } = job.data;
  if (!deps.batcher) {
    deps.metrics.reuploadRequests.inc({ result: 'no_credentials' });
    await deadLetterReupload(
      job,
      deps,
      'no_credentials',
      'NoCredentials',
      'VOLC_ACCESSKEY/VOLC_SECRETKEY are not set',
    );
    return { result: 'no_credentials', code: 'NoCredentials' };
  }

  const outcome = await deps.batcher.submit(source);
  if (outcome.ok) {
    const startedAt = now();
    await deps.uploads.track(
      outcome.jobId,
      { sourceKey: sourceKeyOf(source), attempt, startedAt, source },
      startedAt,
    );
    deps.metrics.reuploadRequests.inc({ result: 'accepted' });
    deps.logger.info(
      {
        reuploadJob: job.id,
        jobId: outcome.jobId,
        attempt,
        spaceName: source.spaceName,
        triggeredBy: job.data.triggeredBy,
      },
      're-upload accepted',
    );
    return { result: 'accepted', jobId: outcome.jobId };
  }

  const { error } = outcome;
  if (error.kind === 'retryable') {
    deps.metrics.reuploadRequests.inc({ result: 'retried' });
    const last = (job.attemptsMade ?? 0) + 1 >= (job.opts?.attempts ?? 1);
    if (last) {
      // The worker manager dead-letters the job (processing_error) when this throw is final; the
      // source's state must say so too, or `vodctl status` would show "reupload_scheduled" forever.
      await recordDeadLettered(job, deps, 'processing_error', error.code);
    } else {
      deps.logger.warn(
        { reuploadJob: job.id, code: error.code, attempt },
        're-upload call failed; will retry',
      );
    }
    throw error;
  }
  deps.metrics.reuploadRequests.inc({ result: 'rejected' });
  await deadLetterReupload(job, deps, 'reupload_rejected', error.code, error.message);
  return { result: 'rejected', code: error.code };
}

async function deadLetterReupload(
  job: ReuploadJobLike,
  deps: ReuploadProcessorDeps,
  reason: DeadLetterReason,
  code: string,
  message: string,
): Promise<void> {
  const dedupeKey = `reupload:${job.id ?? job.data.triggeredBy}`;
  if (await deps.store.isProcessed(dedupeKey)) return;
  await deps.writers.deadLetter(dedupeKey, {
    reason,
    detail: `${code}: ${message}`.slice(0, 2000),
    requestId: job.data.triggeredBy,
    reupload: job.data,
    deadLetteredAt: (deps.now ?? Date.now)(),
  });
  if (await recordDeadLettered(job, deps, reason, code)) deps.metrics.deadLetters.inc({ reason });
  deps.logger.error(
    { reuploadJob: job.id, reason, code, triggeredBy: job.data.triggeredBy },
    're-upload dead-lettered',
  );
}

/** Records the source's outcome `dead_lettered`: why its re-upload did not happen (for `vodctl status`). */
async function recordDeadLettered(
  job: ReuploadJobLike,
  deps: ReuploadProcessorDeps,
  reason: DeadLetterReason,
  code: string,
): Promise<boolean> {
  const { source } = job.data;
  const record: OutcomeRecord = {
    requestId: `reupload:${job.id ?? job.data.triggeredBy}`,
    jobId: '',
    spaceName: source.spaceName,
    sourceUrl: source.sourceUrl,
    callbackArgs: source.callbackArgs,
    vid: '',
    code,
    class: 'retryable',
    decision: 'dead_lettered',
    // The uploads made so far: this re-upload never happened.
    attempt: job.data.attempt - 1,
    eventTime: '',
    processedAt: new Date((deps.now ?? Date.now)()).toISOString(),
    reason,
  };
  return (await deps.store.record(record.requestId, record)).written;
}
