import { type EventJobData, isUsableRequestId, type OutcomeRecord } from '@vod-callbacks/shared';

// What the worker reads of an event job before it knows the event is valid: every accessor here
// takes any JSON value in any field and never throws.

/** Dedupe key: the RequestId; a replay of a dead letter is its own event (it must run once more). */
export function dedupeKeyOf(requestId: string, data: EventJobData): string {
  return data.replayOf ? `replay:${data.replayOf}:${requestId}` : requestId;
}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** The string fields of an event an outcome record keeps: whatever type a field has, never a throw. */
export type EventFields = Pick<
  OutcomeRecord,
  'jobId' | 'spaceName' | 'sourceUrl' | 'callbackArgs' | 'vid' | 'code' | 'eventTime'
>;

const str = (v: unknown, max = 2048): string => (typeof v === 'string' ? v.slice(0, max) : '');

/** The parsed callback of an event job (embedded by the ingress, or a JSON string from replays). */
export function parsedEventOf(data: EventJobData | undefined): unknown {
  if (data === null || typeof data !== 'object') return undefined;
  return data.body === undefined ? data.event : parseBody(data.body);
}

/** RequestId (when usable) and EventType (when a non-empty string) of a parsed callback; never throws. */
export function envelopeOf(parsed: unknown): { requestId?: string; eventType?: string } {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const { RequestId, EventType } = parsed as Record<string, unknown>;
  return {
    requestId: isUsableRequestId(RequestId) ? RequestId : undefined,
    eventType: typeof EventType === 'string' && EventType !== '' ? EventType : undefined,
  };
}

/** The string fields of a parsed callback, each '' when missing or not a string. */
export function fieldsOf(parsed: unknown): EventFields {
  const root = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  const d = root.Data !== null && typeof root.Data === 'object' ? (root.Data as Record<string, unknown>) : {};
  return {
    jobId: str(d.JobId),
    spaceName: str(d.SpaceName),
    sourceUrl: str(d.SourceUrl),
    callbackArgs: str(d.CallbackArgs),
    vid: str(d.Vid),
    code: str(d.Code, 200),
    eventTime: str(root.EventTime, 100),
  };
}

/**
 * The outcome of an event dead-lettered before (or without) passing the schema. It names the
 * RequestId, JobId, Vid and Code as sent (strings only) but no source: an event nobody validated
 * does not change a source's state, its JobId mapping or the pending uploads.
 */
export function deadLetterOutcomeOf(
  requestId: string,
  fields: EventFields,
  cls: OutcomeRecord['class'],
  data: EventJobData | undefined,
  now: number,
): OutcomeRecord {
  const record: OutcomeRecord = {
    requestId,
    jobId: fields.jobId,
    spaceName: '',
    sourceUrl: '',
    callbackArgs: '',
    vid: fields.vid,
    code: fields.code,
    class: cls,
    decision: 'dead_lettered',
    attempt: 1,
    eventTime: fields.eventTime,
    processedAt: new Date(now).toISOString(),
  };
  if (data?.origin) record.origin = data.origin;
  return record;
}
