import type { CodeClass } from './retry-policy.js';

/** What was done with an event. */
export type Decision =
  | 'succeeded'
  | 'reupload_scheduled'
  | 'failed_permanent'
  | 'retries_exhausted'
  | 'dead_lettered';
export const DECISIONS: readonly Decision[] = [
  'succeeded',
  'reupload_scheduled',
  'failed_permanent',
  'retries_exhausted',
  'dead_lettered',
];

/** One record per processed event, appended to `<prefix>:outcomes`. */
export interface OutcomeRecord {
  requestId: string;
  jobId: string;
  spaceName: string;
  sourceUrl: string;
  callbackArgs: string;
  vid: string;
  code: string;
  class: CodeClass | 'invalid' | 'unsupported';
  decision: Decision;
  /** Upload number this event reports on (1 = the customer's original upload). */
  attempt: number;
  eventTime: string;
  /** ISO time the outcome was recorded. */
  processedAt: string;
  /** Dead-letter reason, when decision is `dead_lettered`. */
  reason?: string;
  /** `reconcile` when the event was synthesised from QueryUploadTaskInfo; `replay` for a dead-letter replay. */
  origin?: string;
}

/** Flattens a record into stream field/value pairs (all strings, in a fixed order). */
export function outcomeToFields(record: OutcomeRecord): string[] {
  const fields: string[] = [];
  for (const [k, v] of Object.entries(record)) {
    if (v !== undefined) fields.push(k, String(v));
  }
  return fields;
}

/** Inverse of `outcomeToFields` for reading the stream back. */
export function outcomeFromFields(fields: string[]): OutcomeRecord {
  const obj: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) obj[fields[i]!] = fields[i + 1]!;
  return { ...obj, attempt: Number(obj.attempt ?? 1) } as unknown as OutcomeRecord;
}
