import { UPLOAD_BY_URL_COMPLETE, type UploadCompleteEvent, type UploadSource } from '@vod-callbacks/shared';
import type { UploadTaskInfo } from './vod-api.js';

/**
 * Code given to a reconciled failure. QueryUploadTaskInfo says only `failed`, never why, so it gets
 * a code of its own, classed in the retry policy (retryable by default, like the backend faults such
 * failures mostly are; RETRY_POLICY_FILE can change that), and counted apart from VOD's codes.
 */
export const RECONCILED_FAILURE_CODE = 'Reconciled.TaskFailed';

/** RequestId of the synthetic event for a JobId: stable, so a second lookup dedupes onto the first. */
export function reconcileRequestId(jobId: string): string {
  return `reconcile:${jobId}`;
}

/** Where a task is, as far as reconciliation cares. */
export type TaskStateClass = 'success' | 'failed' | 'running';

/** VOD's states (current and older spellings); anything else is taken as not finished yet. */
export function taskStateClass(state: string | undefined): TaskStateClass {
  switch ((state ?? '').toLowerCase()) {
    case 'success':
      return 'success';
    case 'failed':
    case 'fail':
      return 'failed';
    default:
      return 'running';
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * The callback VOD would have sent for a finished task, built from QueryUploadTaskInfo's answer
 * (which carries each URL's CallbackArgs) and what this system stored when it started the upload
 * (SpaceName/SourceUrl if the answer lacks them, Templates, which the answer does not return).
 * Undefined while the task runs, or when neither side knows the SpaceName and SourceUrl.
 */
export function taskInfoToEvent(
  info: UploadTaskInfo,
  known: UploadSource | undefined,
  nowMs: number,
): UploadCompleteEvent | undefined {
  const cls = taskStateClass(info.State);
  if (cls === 'running') return undefined;
  const spaceName = str(info.SpaceName) ?? known?.spaceName;
  const sourceUrl = str(info.SourceUrl) ?? known?.sourceUrl;
  if (!spaceName || !sourceUrl) return undefined;
  // What this system sent when it started the upload; else VOD's record of it, the only one there is
  // for an upload started elsewhere (so the customer's item is matched, as the callback would have).
  const callbackArgs = known
    ? known.callbackArgs
    : typeof info.CallbackArgs === 'string'
      ? info.CallbackArgs
      : '';

  const si = info.SourceInfo ?? {};
  const sourceInfo: NonNullable<UploadCompleteEvent['Data']['SourceInfo']> = {};
  for (const k of ['StoreUri', 'Md5', 'Format', 'FileName', 'FileType'] as const) {
    const v = str(si[k]);
    if (v !== undefined) sourceInfo[k] = v;
  }
  for (const k of ['Height', 'Width', 'Duration', 'Bitrate', 'Size', 'HlsMediaSize'] as const) {
    const v = num(si[k]);
    if (v !== undefined) sourceInfo[k] = v;
  }
  const data: UploadCompleteEvent['Data'] = {
    Code: cls === 'success' ? 'Success' : RECONCILED_FAILURE_CODE,
    Message:
      cls === 'success'
        ? 'file upload success (reconciled with QueryUploadTaskInfo)'
        : 'QueryUploadTaskInfo reported state failed without a code (reconciled)',
    JobId: info.JobId,
    SourceUrl: sourceUrl,
    CallbackArgs: callbackArgs,
    Vid: cls === 'success' ? (str(info.Vid) ?? '') : '',
    SpaceName: spaceName,
    SourceInfo: sourceInfo,
  };
  if (known?.templates && known.templates.length > 0) data.OptionInfo = { Templates: known.templates };
  return {
    RequestId: reconcileRequestId(info.JobId),
    Version: '1.0',
    EventType: UPLOAD_BY_URL_COMPLETE,
    EventTime: new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    Data: data,
  };
}
