import type { UploadCompleteEvent, UploadSource } from '@vod-callbacks/shared';
import { VodApiError } from './api-error.js';
import { taskInfoToEvent, taskStateClass } from './task-event.js';
import { chunk } from './url-set.js';
import type { VodApi } from './vod-api.js';

/** What reconciliation needs; the worker and `vodctl reconcile` pass their own. */
export interface ReconcileDeps {
  api: VodApi;
  /** The source this system recorded for a JobId (CallbackArgs, Md5, …), when it started it. */
  knownSource(jobId: string): Promise<UploadSource | undefined>;
  /** Stores the synthetic event (on `vod-events`). */
  emit(event: UploadCompleteEvent): Promise<void>;
  now?: () => number;
}

/** What one reconciliation found, per JobId. */
export interface ReconcileReport {
  /** Finished tasks fed back as synthetic events. */
  emitted: { jobId: string; state: 'success' | 'failed'; requestId: string }[];
  /** Still `initial`/`processing`: look again later. */
  running: string[];
  /** VOD does not know these JobIds. */
  notFound: string[];
  /** Finished, but neither VOD nor this system knows its SpaceName/SourceUrl. */
  incomplete: string[];
  /** Lookups that failed (after the API's own answer); retried on the next pass. */
  errors: { jobIds: string[]; code: string; message: string }[];
}

/**
 * Looks JobIds up with QueryUploadTaskInfo, 20 per call, and emits a synthetic callback for each
 * finished one. One failed call does not stop the others: its JobIds are reported under `errors`.
 */
export async function reconcileJobIds(
  jobIds: readonly string[],
  deps: ReconcileDeps,
): Promise<ReconcileReport> {
  const now = deps.now ?? Date.now;
  const report: ReconcileReport = { emitted: [], running: [], notFound: [], incomplete: [], errors: [] };
  const unique = [...new Set(jobIds.filter((j) => j.length > 0))];
  for (const batch of chunk(unique)) {
    let answer: Awaited<ReturnType<VodApi['queryUploadTaskInfo']>>;
    try {
      answer = await deps.api.queryUploadTaskInfo(batch);
    } catch (err) {
      const code = err instanceof VodApiError ? err.code : 'Error';
      report.errors.push({ jobIds: batch, code, message: (err as Error).message });
      continue;
    }
    report.notFound.push(...answer.notFound);
    const seen = new Set(answer.notFound);
    for (const info of answer.infos) {
      if (!info.JobId) continue;
      seen.add(info.JobId);
      const state = taskStateClass(info.State);
      if (state === 'running') {
        report.running.push(info.JobId);
        continue;
      }
      const event = taskInfoToEvent(info, await deps.knownSource(info.JobId), now());
      if (!event) {
        report.incomplete.push(info.JobId);
        continue;
      }
      await deps.emit(event);
      report.emitted.push({ jobId: info.JobId, state, requestId: event.RequestId });
    }
    // A JobId the answer left out entirely is as unknown as one listed in NotExistJobIds.
    for (const id of batch) if (!seen.has(id)) report.notFound.push(id);
  }
  return report;
}
