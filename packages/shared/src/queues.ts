import { createHash, hash } from 'node:crypto';
import { optionalObject, optionalString, type ReceivedEvent } from './event.js';
import type { NotificationJobData } from './outcome-webhook.js';
import { fileExtensionOfUrl } from './vod-file-name.js';

/** Queue of raw callbacks, filled by the ingress, drained by the event processor. */
export const EVENTS_QUEUE = 'vod-events';
/** Queue of delayed re-uploads, drained by the re-upload processor. */
export const REUPLOADS_QUEUE = 'vod-reuploads';
/** Queue of events a person must look at; nothing consumes it but `vodctl dlq`. */
export const DEAD_LETTERS_QUEUE = 'vod-dead-letters';
/** Queue of outcome webhooks to deliver (only filled when OUTCOME_WEBHOOK_URL is set). */
export const NOTIFICATIONS_QUEUE = 'vod-notifications';
export const QUEUE_NAMES = [EVENTS_QUEUE, REUPLOADS_QUEUE, DEAD_LETTERS_QUEUE, NOTIFICATIONS_QUEUE] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** BullMQ job name of an event job. */
export const EVENT_JOB_NAME = 'callback';
/** BullMQ job name of a re-upload job. */
export const REUPLOAD_JOB_NAME = 'reupload';
/** BullMQ job name of an outcome notification. */
export const NOTIFICATION_JOB_NAME = 'outcome';
/** BullMQ job name of a dead letter. */
export const DEAD_LETTER_JOB_NAME = 'dead-letter';

/** Job data of `vod-events`: the callback body exactly as received, so nothing is lost to re-serialisation. */
export type EventJobData = EventJobPayload & {
  /** Epoch ms when the ingress accepted it. */
  receivedAt: number;
  /** Set when the event did not come from VOD's HTTP callback. */
  origin?: 'reconcile' | 'replay';
  /** For replays: the dead letter being replayed (part of the dedupe key, so one replay counts once). */
  replayOf?: string;
};

/**
 * The callback itself, in one of two forms. The ingress embeds the body's JSON text as it arrived
 * into the job's data (`event`): Redis holds the exact bytes, and the worker gets the event already
 * parsed with the job, with no escaping on the way in and no second parse on the way out.
 * Replays and reconciliation store the JSON text as a string (`body`).
 */
export type EventJobPayload = { event: unknown; body?: undefined } | { body: string; event?: undefined };

/**
 * The callback's JSON text of an event job (re-serialised when the job holds it embedded), for dead
 * letters and replays; undefined for data that holds neither form.
 */
export function eventBodyOf(data: Partial<EventJobPayload>): string | undefined {
  if (typeof data.body === 'string') return data.body;
  return data.event === undefined ? undefined : JSON.stringify(data.event);
}

/**
 * An event job's data as JSON text, with the callback's JSON text embedded as-is (`event`). `json`
 * must be valid JSON (the ingress has parsed it); the result is what JSON.stringify would give for
 * `{ event, receivedAt }`, but for the event's own spacing.
 */
export function eventJobDataJson(json: string, receivedAt: number): string {
  return `${EMBED_HEAD}${json}${EMBED_TAIL}${receivedAt}}`;
}

const EMBED_HEAD = '{"event":';
const EMBED_TAIL = ',"receivedAt":';

/**
 * The callback's JSON text exactly as `eventJobDataJson` embedded it, from an event job's stored
 * data (BullMQ's `data` field of the job hash); undefined for data in another form.
 */
export function embeddedEventText(dataJson: string): string | undefined {
  if (!dataJson.startsWith(EMBED_HEAD)) return undefined;
  // The tail is ours, after the last byte of the event: its last occurrence.
  const end = dataJson.lastIndexOf(EMBED_TAIL);
  return end > EMBED_HEAD.length ? dataJson.slice(EMBED_HEAD.length, end) : undefined;
}

/**
 * What a re-upload repeats: the source, and the URLSet fields this system sends with it. Md5,
 * FileName, FileExtension and Templates are the customer's choices (or, for an upload this system
 * started, what it sent); never VOD's measured or stored values from a callback's SourceInfo.
 */
export interface UploadSource {
  spaceName: string;
  sourceUrl: string;
  callbackArgs: string;
  md5?: string;
  fileName?: string;
  fileExtension?: string;
  templates?: { TemplateIds?: string[]; TemplateType?: string }[];
  /** The deprecated single workflow id, when the callback named one and no Templates. */
  templateId?: string;
}

/** Job data of `vod-reuploads`. */
export interface ReuploadJobData {
  source: UploadSource;
  /** The upload number this re-upload will be (2 for the first re-upload). */
  attempt: number;
  /** RequestId of the callback that triggered it. */
  triggeredBy: string;
  /** Code of that callback. */
  code: string;
  scheduledAt: number;
}

/** Why something was dead-lettered. Bounded: these are metric label values. */
export type DeadLetterReason =
  | 'invalid_payload'
  | 'unsupported_event'
  | 'unknown_code'
  | 'no_credentials'
  | 'reupload_rejected'
  | 'reupload_not_allowed'
  | 'processing_error'
  | 'webhook_rejected'
  | 'webhook_exhausted';
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [
  'invalid_payload',
  'unsupported_event',
  'unknown_code',
  'no_credentials',
  'reupload_rejected',
  'reupload_not_allowed',
  'processing_error',
  'webhook_rejected',
  'webhook_exhausted',
];

/** Job data of `vod-dead-letters`. */
export interface DeadLetterJobData {
  reason: DeadLetterReason;
  /** Human-readable detail: validation errors, the API error code, … */
  detail: string;
  /** RequestId when one was usable. */
  requestId?: string;
  /** The original event body (for replay), when the dead letter is an event. */
  body?: string;
  /** The original re-upload job, when the dead letter is a re-upload. */
  reupload?: ReuploadJobData;
  /** The outcome notification, when the dead letter is a webhook that could not be delivered. */
  notification?: NotificationJobData;
  deadLetteredAt: number;
}

// BullMQ rejects job ids containing ':' and ids that parse as integers; a fixed prefix rules out the
// second, hashing rules out the first. Distinct prefixes keep the two families from colliding.
const PLAIN_PREFIX = 'evt-';
const HASHED_PREFIX = 'evth-';

/** Deterministic BullMQ job id of the event with this RequestId: duplicates collapse onto one job. */
export function eventJobId(requestId: string): string {
  if (!requestId.includes(':')) return PLAIN_PREFIX + requestId;
  return HASHED_PREFIX + createHash('sha256').update(requestId).digest('hex').slice(0, 40);
}

/** Stable short hash used in Redis keys and job ids derived from free-form values. */
export function stableHash(...parts: string[]): string {
  // Each part followed by NUL (so ['ab','c'] and ['a','bc'] differ), hashed in one call.
  return hash('sha256', `${parts.join('\u0000')}\u0000`).slice(0, 32);
}

/** Identity of a source for the attempt budget: SpaceName + SourceUrl + CallbackArgs. */
export function sourceKeyOf(source: Pick<UploadSource, 'spaceName' | 'sourceUrl' | 'callbackArgs'>): string {
  return stableHash(source.spaceName, source.sourceUrl, source.callbackArgs);
}

/**
 * The upload source a callback describes, for an upload this system did not start (for one it
 * started, the stored source is re-sent instead): SourceUrl, CallbackArgs, the Templates of
 * OptionInfo, and FileExtension from the URL's path when that is a valid extension. SourceInfo is
 * left alone: its FileName is VOD's stored name (usually without the suffix UploadMediaByUrl
 * requires), its Md5 what VOD measured (a changed source would then fail CheckError.Md5MissMatch
 * for good) and its Format VOD's guess, none of them what the customer asked for.
 */
export function uploadSourceOf(event: ReceivedEvent): UploadSource {
  const d = event.Data;
  const source: UploadSource = {
    spaceName: d.SpaceName,
    sourceUrl: d.SourceUrl,
    callbackArgs: optionalString(d.CallbackArgs),
  };
  const ext = fileExtensionOfUrl(d.SourceUrl);
  if (ext) source.fileExtension = ext;
  const option = optionalObject(d.OptionInfo);
  const templates = templatesOf(option.Templates);
  const templateId = optionalString(option.TemplateId);
  if (templates.length > 0) source.templates = templates;
  else if (templateId) source.templateId = templateId;
  return source;
}

/**
 * The well-formed entries of `OptionInfo.Templates` (`null` from a Go nil slice, or anything else
 * not an array, is none): UploadMediaByUrl would refuse a malformed one for the whole batch.
 */
function templatesOf(value: unknown): NonNullable<UploadSource['templates']> {
  if (!Array.isArray(value)) return [];
  const templates: NonNullable<UploadSource['templates']> = [];
  for (const item of value) {
    const t = optionalObject(item);
    const ids = t.TemplateIds;
    if (ids !== undefined && !(Array.isArray(ids) && ids.every((id) => typeof id === 'string'))) continue;
    if (t.TemplateType !== undefined && typeof t.TemplateType !== 'string') continue;
    if (ids === undefined && t.TemplateType === undefined) continue;
    templates.push({
      ...(ids !== undefined && { TemplateIds: ids as string[] }),
      ...(t.TemplateType !== undefined && { TemplateType: t.TemplateType as string }),
    });
  }
  return templates;
}

/**
 * What to re-upload after `event`: the source this system stored when it started the upload (the
 * same URLSet is sent again), or, for an upload it did not start, what the callback carries
 * (`uploadSourceOf`). A stored source for another SourceUrl/CallbackArgs is not used.
 */
export function reuploadSourceOf(event: ReceivedEvent, stored: UploadSource | undefined): UploadSource {
  const fromEvent = uploadSourceOf(event);
  if (stored && sourceKeyOf(stored) === sourceKeyOf(fromEvent)) return stored;
  return fromEvent;
}
