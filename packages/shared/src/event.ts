import { type Static, Type } from 'typebox';
import { Compile } from 'typebox/compile';

/** The event type this pipeline processes (SPEC.md). */
export const UPLOAD_BY_URL_COMPLETE = 'FileUploadByUrlComplete';

/** Upper bound of a usable RequestId, shared by ingress (dedupe) and worker (validation). */
export const REQUEST_ID_MAX_LENGTH = 128;

// Control characters (C0, DEL, C1) are not "printable": they break logs, job ids and terminals.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
// A lone surrogate (legal in JSON as "\ud800") has no UTF-8 form: Redis would store U+FFFD, so two
// different RequestIds would share one job id and dedupe key, and the second would be acked but lost.
const LONE_SURROGATE = /\p{Surrogate}/u;

/** True when `value` can serve as a RequestId: a string of 1–128 printable characters. */
export function isUsableRequestId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= REQUEST_ID_MAX_LENGTH &&
    !CONTROL_CHARS.test(value) &&
    !LONE_SURROGATE.test(value)
  );
}

const NonEmpty = Type.String({ minLength: 1 });
// VOD zeroes numbers on failure and omits what it does not know: every SourceInfo field is optional.
const Num = Type.Number();

export const SourceInfoSchema = Type.Object({
  StoreUri: Type.Optional(Type.String()),
  Height: Type.Optional(Num),
  Width: Type.Optional(Num),
  Duration: Type.Optional(Num),
  Bitrate: Type.Optional(Num),
  Md5: Type.Optional(Type.String()),
  Format: Type.Optional(Type.String()),
  Size: Type.Optional(Num),
  HlsMediaSize: Type.Optional(Num),
  FileName: Type.Optional(Type.String()),
  FileType: Type.Optional(Type.String()),
});

export const TemplateSchema = Type.Object({
  TemplateIds: Type.Optional(Type.Array(Type.String())),
  TemplateType: Type.Optional(Type.String()),
});

export const OptionInfoSchema = Type.Object({
  /** Deprecated single workflow id; still sent next to `Templates`. */
  TemplateId: Type.Optional(Type.String()),
  Templates: Type.Optional(Type.Array(TemplateSchema)),
});

export const EventDataSchema = Type.Object({
  Code: NonEmpty,
  Message: Type.Optional(Type.String()),
  JobId: NonEmpty,
  SourceUrl: NonEmpty,
  CallbackArgs: Type.Optional(Type.String()),
  Vid: Type.Optional(Type.String()),
  SpaceName: NonEmpty,
  SourceInfo: Type.Optional(SourceInfoSchema),
  PosterUri: Type.Optional(Type.String()),
  OptionInfo: Type.Optional(OptionInfoSchema),
});

/**
 * A `FileUploadByUrlComplete` callback as VOD documents it: the shape this system builds (reconciled
 * events, the simulator). What a received callback is guaranteed to be is `ReceivedEvent`.
 */
export const UploadCompleteEventSchema = Type.Object({
  RequestId: Type.String({ minLength: 1, maxLength: REQUEST_ID_MAX_LENGTH }),
  Version: Type.Optional(Type.String()),
  EventType: NonEmpty,
  EventTime: Type.Optional(Type.String()),
  Data: EventDataSchema,
});

export type UploadCompleteEvent = Static<typeof UploadCompleteEventSchema>;
export type UploadCompleteEventData = Static<typeof EventDataSchema>;

/**
 * What a received callback must have: only what processing needs (SPEC). Every other field
 * (Message, Vid, CallbackArgs, EventTime, SourceInfo, OptionInfo …) is kept as received whatever
 * its type — VOD's Go backend sends nil slices and structs as `null`, and a field nobody needs
 * must not turn a success into a dead letter a replay cannot fix — and read with `optionalString`
 * / `optionalObject` where it is used.
 */
export const ReceivedEventSchema = Type.Object({
  RequestId: Type.String({ minLength: 1, maxLength: REQUEST_ID_MAX_LENGTH }),
  EventType: NonEmpty,
  Data: Type.Object({ Code: NonEmpty, JobId: NonEmpty, SourceUrl: NonEmpty, SpaceName: NonEmpty }),
});

/** `Data` of a received callback: the required fields typed, the rest as received. */
export interface ReceivedEventData {
  Code: string;
  JobId: string;
  SourceUrl: string;
  SpaceName: string;
  [field: string]: unknown;
}

/** A received callback that passed `validateEvent`. A documented `UploadCompleteEvent` is one too. */
export interface ReceivedEvent {
  RequestId: string;
  EventType: string;
  Data: ReceivedEventData;
  [field: string]: unknown;
}

/** An optional field that should be a string: itself, or '' when absent, null or of another type. */
export function optionalString(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** An optional field that should be an object: itself, or {} when absent, null, an array or a scalar. */
export function optionalObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

const eventValidator = Compile(ReceivedEventSchema);

/** Result of validating a parsed callback body. */
export type EventValidation = { ok: true; event: ReceivedEvent } | { ok: false; errors: string[] };

/** Validates an already parsed callback (the fields processing needs); never throws. */
export function validateEvent(value: unknown): EventValidation {
  if (eventValidator.Check(value)) {
    if (!isUsableRequestId(value.RequestId)) {
      return { ok: false, errors: ['/RequestId must not contain control characters or lone surrogates'] };
    }
    return { ok: true, event: value as ReceivedEvent };
  }
  const errors = eventValidator
    .Errors(value)
    .slice(0, 10)
    .map((e) => `${e.instancePath || '/'} ${e.message}`);
  return { ok: false, errors };
}

/** Seconds between `EventTime` (second precision, UTC) and `nowMs`; undefined when unusable. */
export function eventAgeSeconds(eventTime: unknown, nowMs: number): number | undefined {
  if (typeof eventTime !== 'string' || !eventTime) return undefined;
  const t = Date.parse(eventTime);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, (nowMs - t) / 1000);
}
