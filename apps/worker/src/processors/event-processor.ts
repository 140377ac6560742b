import {
  type CodeClass,
  type CodeClassifier,
  codeLabel,
  type DeadLetterReason,
  type Decision,
  type EventJobData,
  eventAgeSeconds,
  isUsableRequestId,
  type OutcomeRecord,
  type ProcessedClass,
  reuploadDelayMs,
  reuploadSourceOf,
  sourceKeyOf,
  type UploadCompleteEvent,
  validateEvent,
  type WorkerMetrics,
} from '@vod-callbacks/shared';
import type { Logger } from 'pino';
import { decide } from '../decide.js';
import type { JobWriters } from '../job-writers.js';
import type { OutcomeStore } from '../outcome-store.js';
import type { BudgetClaim, ReuploadBudget } from '../reupload-budget.js';
import type { UploadTracker } from '../upload-tracker.js';

/** What the event processor needs. */
export interface EventProcessorDeps {
  store: OutcomeStore;
  /** The uploads this system started (a reconciled event checks its JobId there). */
  uploads: UploadTracker;
  /** The re-upload budget per source. */
  budget: ReuploadBudget;
  writers: JobWriters;
  classifier: CodeClassifier;
  metrics: WorkerMetrics;
  logger: Logger;
  acceptedEventTypes: ReadonlySet<string>;
  unsupportedAction: 'dead_letter' | 'ignore';
  /** REUPLOAD_MAX_ATTEMPTS. */
  maxAttempts: number;
  /** REUPLOAD_BACKOFF_MS. */
  backoffBaseMs: number;
  now?: () => number;
  random?: () => number;
}

/** The part of a BullMQ job the processor reads. */
export interface EventJobLike {
  id?: string;
  data: EventJobData;
}

/** What processing one event came to. */
export interface EventResult {
  decision: Decision | 'duplicate' | 'ignored';
  requestId?: string;
  class?: ProcessedClass;
  /** Set when a dead letter was written. */
  reason?: DeadLetterReason;
  /** Delay of the scheduled re-upload. */
  delayMs?: number;
}

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

/**
 * Steps 1–7 of DESIGN.md for one `vod-events` job: validate, check the event type, drop
 * duplicates, classify, decide, act (re-upload / dead letter), then record the outcome and the
 * processed marker in one atomic step. Side effects before the record are idempotent per event.
 */
export async function processEvent(job: EventJobLike, deps: EventProcessorDeps): Promise<EventResult> {
  const now = deps.now ?? Date.now;
  const parsed = parsedEventOf(job.data);
  // The envelope first (RequestId, EventType): VOD sends every event type a space subscribes to,
  // and only FileUploadByUrlComplete has the schema below.
  const envelope = envelopeOf(parsed);
  const requestId = envelope.requestId ?? `job:${job.id ?? 'unknown'}`;
  if (envelope.eventType === undefined || envelope.requestId === undefined) {
    return deadLetterEvent(job, deps, {
      requestId,
      reason: 'invalid_payload',
      detail:
        envelope.eventType === undefined
          ? '/EventType must be a non-empty string'
          : '/RequestId is not usable',
      cls: 'invalid',
      fields: fieldsOf(parsed),
    });
  }
  if (!deps.acceptedEventTypes.has(envelope.eventType)) {
    const fields = fieldsOf(parsed);
    if (deps.unsupportedAction === 'ignore') {
      deps.metrics.processed.inc({ code: codeLabel(fields.code, () => undefined), class: 'unsupported' });
      deps.logger.debug({ requestId, eventType: envelope.eventType }, 'ignoring unsupported event type');
      return { decision: 'ignored', requestId, class: 'unsupported' };
    }
    return deadLetterEvent(job, deps, {
      requestId,
      reason: 'unsupported_event',
      detail: `EventType ${JSON.stringify(envelope.eventType.slice(0, 100))} is not in ACCEPTED_EVENT_TYPES`,
      cls: 'unsupported',
      fields,
    });
  }

  const validation = validateEvent(parsed);
  if (!validation.ok) {
    return deadLetterEvent(job, deps, {
      requestId,
      reason: 'invalid_payload',
      detail: validation.errors.join('; '),
      cls: 'invalid',
      fields: fieldsOf(parsed),
    });
  }

  const event = validation.event;
  const dedupeKey = dedupeKeyOf(requestId, job.data);
  const code = event.Data.Code;

  const label = codeLabel(code, (c) => deps.classifier.catalogueLabel(c));
  const cls = deps.classifier.classify(code, event.Data.Message ?? '');

  // Success and permanent failure do not depend on the attempt: one script call drops a duplicate,
  // takes the attempt from the JobId mapping and records (no lookup round trip first). A callback
  // whose JobId reconciliation already recorded (it came after all, e.g. VOD redelivered longer
  // than expected) writes nothing: the reconciled outcome stands.
  if ((cls === 'success' || cls === 'permanent') && job.data.origin !== 'reconcile') {
    const decision = decide(cls, 1, deps.maxAttempts);
    const result = await deps.store.record(
      dedupeKey,
      outcomeOf(event, job.data, cls, decision, 1, now()),
      job.data.origin ? 'mapping' : 'mapping-strict',
    );
    if (!result.written) {
      return result.why === 'superseded_by_reconciliation'
        ? supersededByReconciliation(deps, label, event)
        : duplicateOf(deps, label, requestId);
    }
    return recorded(deps, event, label, { decision, class: cls, attempt: result.attempt });
  }

  const known = await deps.store.lookup(dedupeKey, event.Data.JobId);
  if (known.processed) {
    return duplicateOf(deps, label, requestId);
  }
  // As above: a callback for a JobId whose outcome reconciliation already recorded is a duplicate.
  if (!job.data.origin && known.upload?.reconciled) {
    return supersededByReconciliation(deps, label, event);
  }

  // A lookup raced with the real callback, which was recorded first: the callback is the outcome.
  if (job.data.origin === 'reconcile' && (await deps.uploads.settledByCallback(event.Data.JobId))) {
    deps.logger.info({ requestId, jobId: event.Data.JobId }, 'reconciled event superseded by its callback');
    return duplicateOf(deps, label, requestId);
  }

  if (cls === 'unknown') {
    return deadLetterEvent(job, deps, {
      requestId,
      reason: 'unknown_code',
      detail: `Code ${JSON.stringify(code.slice(0, 200))} is not in the retry policy`,
      cls,
      fields: fieldsOf(event),
      event,
    });
  }

  // Retryable: the source's re-upload budget decides (shared by every callback for the source).
  // Success and permanent codes get here only from reconciliation.
  const attempt = known.upload?.attempt ?? 1;
  const source = reuploadSourceOf(event, known.upload?.source);
  const claim: BudgetClaim =
    cls === 'retryable'
      ? await deps.budget.claim(dedupeKey, sourceKeyOf(source), attempt, deps.maxAttempts)
      : { kind: 'exhausted' };
  if (claim.kind === 'handled_before') {
    // Its processed marker expired (DEDUPE_TTL_SECONDS), but its re-upload was scheduled and its
    // outcome recorded: a late redelivery, nothing happens again.
    deps.logger.info({ requestId, jobId: event.Data.JobId }, 'redelivery of an event handled before');
    return duplicateOf(deps, label, requestId);
  }
  const decision =
    claim.kind === 'granted' ? 'reupload_scheduled' : decide(cls, deps.maxAttempts, deps.maxAttempts);
  let delayMs: number | undefined;
  if (claim.kind === 'granted') {
    delayMs = reuploadDelayMs(claim.upload - 1, deps.backoffBaseMs, deps.random);
    await deps.writers.scheduleReupload(
      dedupeKey,
      // Uploads this system started re-send what it sent; others what the callback carries.
      { source, attempt: claim.upload, triggeredBy: requestId, code, scheduledAt: now() },
      delayMs,
    );
  }

  const result = await deps.store.record(
    dedupeKey,
    outcomeOf(event, job.data, cls, decision, attempt, now()),
    'given',
    claim.kind === 'granted',
  );
  if (!result.written) {
    return duplicateOf(deps, label, requestId);
  }
  return recorded(deps, event, label, { decision, class: cls, attempt, delayMs });
}

/** Counts, times and logs an event whose outcome was just recorded. */
function recorded(
  deps: EventProcessorDeps,
  event: UploadCompleteEvent,
  label: string,
  what: { decision: Decision; class: CodeClass; attempt: number; delayMs?: number },
): EventResult {
  const { decision, attempt, delayMs } = what;
  const requestId = event.RequestId;
  deps.metrics.processed.inc({ code: label, class: what.class });
  if (decision === 'reupload_scheduled') deps.metrics.reuploadsScheduled.inc();
  if (decision === 'retries_exhausted') deps.metrics.retriesExhausted.inc();
  observeLag(deps, event, (deps.now ?? Date.now)());
  // Every outcome is in the outcomes stream; the log carries the ones someone may have to act on
  // (a line per success cost ~6% of the worker's CPU in bench/worker.mjs). LOG_LEVEL=debug logs all.
  deps.logger[decision === 'succeeded' ? 'debug' : 'info'](
    {
      requestId,
      jobId: event.Data.JobId,
      code: event.Data.Code,
      class: what.class,
      decision,
      attempt,
      delayMs,
    },
    'event processed',
  );
  return { decision, requestId, class: what.class, delayMs };
}

interface DeadLetterInput {
  requestId: string;
  reason: DeadLetterReason;
  detail: string;
  cls: 'invalid' | 'unsupported' | 'unknown';
  /** What the outcome record keeps of the event (string fields only). */
  fields: EventFields;
  /** The validated event, when it passed the schema. */
  event?: UploadCompleteEvent;
}

async function deadLetterEvent(
  job: EventJobLike,
  deps: EventProcessorDeps,
  input: DeadLetterInput,
): Promise<EventResult> {
  const now = (deps.now ?? Date.now)();
  const dedupeKey = dedupeKeyOf(input.requestId, job.data);
  const label = codeLabel(input.fields.code, (c) => deps.classifier.catalogueLabel(c));
  if (await deps.store.isProcessed(dedupeKey)) {
    return duplicateOf(deps, label, input.requestId);
  }
  await deps.writers.deadLetter(dedupeKey, {
    reason: input.reason,
    detail: input.detail,
    requestId: input.requestId,
    body: await deps.writers.eventBody(job),
    deadLetteredAt: now,
  });
  const outcome = input.event
    ? outcomeOf(input.event, job.data, input.cls, 'dead_lettered', 1, now)
    : deadLetterOutcomeOf(input.requestId, input.fields, input.cls, job.data, now);
  outcome.reason = input.reason;
  const result = await deps.store.record(dedupeKey, outcome);
  if (!result.written) {
    return duplicateOf(deps, label, input.requestId);
  }
  deps.metrics.processed.inc({ code: label, class: input.cls });
  deps.metrics.deadLetters.inc({ reason: input.reason });
  deps.logger.warn(
    { requestId: input.requestId, reason: input.reason, detail: input.detail },
    'event dead-lettered',
  );
  return { decision: 'dead_lettered', requestId: input.requestId, class: input.cls, reason: input.reason };
}

/** The string fields of an event an outcome record keeps: whatever type a field has, never a throw. */
export interface EventFields {
  jobId: string;
  spaceName: string;
  sourceUrl: string;
  callbackArgs: string;
  vid: string;
  code: string;
  eventTime: string;
}

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

/** VOD's own callback for a JobId whose outcome reconciliation recorded first: logged, then a duplicate. */
function supersededByReconciliation(
  deps: EventProcessorDeps,
  label: string,
  event: UploadCompleteEvent,
): EventResult {
  deps.logger.info(
    { requestId: event.RequestId, jobId: event.Data.JobId },
    'callback superseded by its reconciled outcome',
  );
  return duplicateOf(deps, label, event.RequestId);
}

/** Counts an event already recorded under its dedupe key; nothing else is done with it. */
function duplicateOf(deps: EventProcessorDeps, label: string, requestId: string): EventResult {
  deps.metrics.processed.inc({ code: label, class: 'duplicate' });
  return { decision: 'duplicate', requestId, class: 'duplicate' };
}

function outcomeOf(
  event: UploadCompleteEvent,
  data: EventJobData,
  cls: OutcomeRecord['class'],
  decision: Decision,
  attempt: number,
  now: number,
): OutcomeRecord {
  const d = event.Data;
  const record: OutcomeRecord = {
    requestId: event.RequestId,
    jobId: d.JobId,
    spaceName: d.SpaceName,
    sourceUrl: d.SourceUrl,
    callbackArgs: d.CallbackArgs ?? '',
    vid: d.Vid ?? '',
    code: d.Code,
    class: cls,
    decision,
    attempt,
    eventTime: event.EventTime ?? '',
    processedAt: new Date(now).toISOString(),
  };
  if (data.origin) record.origin = data.origin;
  return record;
}

function observeLag(deps: EventProcessorDeps, event: UploadCompleteEvent, now: number): void {
  const lag = eventAgeSeconds(event.EventTime, now);
  if (lag !== undefined) deps.metrics.lagSeconds.observe(lag);
}
