import { DECISIONS, type RedisClient, readSourceState } from '@vod-callbacks/shared';
import { waitFor } from '@vod-callbacks/test-support';
import { expect } from 'vitest';

/** The decisions after which a source's state no longer changes: all but `reupload_scheduled`. */
const FINAL_DECISIONS = new Set<string>(DECISIONS.filter((d) => d !== 'reupload_scheduled'));

/** Waits until the source state at `key` holds a final decision, and returns that state. */
export function settledSourceState(
  redis: RedisClient,
  key: string,
  what: string,
): Promise<Record<string, string>> {
  return waitFor(
    `final outcome of ${what}`,
    async () => {
      const state = await readSourceState(redis, key);
      return FINAL_DECISIONS.has(state.decision ?? '') ? state : undefined;
    },
    45_000,
    100,
  );
}

/**
 * The state of a source whose re-upload's callback never came: the reconciler asked
 * QueryUploadTaskInfo and recorded the second upload's success under `reconcile:<JobId>`.
 */
export function expectReconciledReupload(state: Record<string, string>, callbackArgs: string): void {
  expect(state).toMatchObject({ decision: 'succeeded', attempt: '2', origin: 'reconcile', callbackArgs });
  expect(state.requestId).toBe(`reconcile:${state.jobId}`);
}
