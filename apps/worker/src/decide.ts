import type { CodeClass, Decision } from '@vod-callbacks/shared';

/**
 * What to do with a classified event. `attempt` is the upload this event reports on (1 = the
 * customer's original); a retryable failure is re-uploaded while `attempt < maxAttempts`. An
 * unknown code never gets here: it is dead-lettered before (the event processor).
 */
export function decide(cls: Exclude<CodeClass, 'unknown'>, attempt: number, maxAttempts: number): Decision {
  switch (cls) {
    case 'success':
      return 'succeeded';
    case 'permanent':
      return 'failed_permanent';
    case 'retryable':
      return attempt < maxAttempts ? 'reupload_scheduled' : 'retries_exhausted';
  }
}
