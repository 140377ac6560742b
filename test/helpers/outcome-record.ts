import type { OutcomeRecord } from '@vod-callbacks/shared';

/**
 * A first-attempt success of `requestId` as the worker records it (JobId `job-<requestId>`, a URL of
 * its own in space `space`); `over` changes any field.
 */
export function outcomeRecord(requestId: string, over: Partial<OutcomeRecord> = {}): OutcomeRecord {
  return {
    requestId,
    jobId: `job-${requestId}`,
    spaceName: 'space',
    sourceUrl: `https://media.example.test/${requestId}.mp4`,
    callbackArgs: '',
    vid: 'v0abc',
    code: 'Success',
    class: 'success',
    decision: 'succeeded',
    attempt: 1,
    eventTime: '',
    processedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}
