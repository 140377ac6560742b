import {
  type CodeClass,
  type CodeClassifier,
  codeLabel,
  type DeadLetterReason,
  type Decision,
  type EventJobData,
  eventAgeSeconds,
  type OutcomeRecord,
  optionalString,
  type ProcessedClass,
  type ReceivedEvent,
  reuploadDelayMs,
  reuploadSourceOf,
  sourceKeyOf,
  type UploadSource,
  validateEvent,
  type WorkerMetrics,
} from '@vod-callbacks/shared';
import type { Logger } from 'pino';
import { decide, type ReuploadScope, reuploadRefusal } from '../decide.js';
import type { JobWriters } from '../job-writers.js';
import { type OriginRules, originRules } from '../origin-rules.js';
import type { OutcomeStore } from '../outcome-store.js';
import type { ReuploadBudget } from '../reupload-budget.js';
import type { UploadTracker } from '../upload-tracker.js';
import {
  deadLetterOutcomeOf,
  dedupeKeyOf,
  type EventFields,
  envelopeOf,
  fieldsOf,
  parsedEventOf,
} from './event-input.js';

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
  /** REUPLOAD_SPACES / REUPLOAD_URL_HOSTS; unset = any space and host. */
  reuploadScope?: ReuploadScope;
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

/**
 * Steps 1–7 of DESIGN.md for one `vod-events` job: check the envelope and the event type, validate,
 * classify, then one of three paths — a final code (success, permanent), a retryable failure, or
 * an event reconciliation synthesised — each ending in the atomic record of the outcome and the
 * processed marker. Side effects before the record are idempotent per event.
 */
export async function processEvent(job: EventJobLike, deps: EventProcessorDeps): Promise<EventResult> {
  const checked = await checkEvent(job, deps);
  if ('result' in checked) return checked.result;
  const { event, requestId } = checked;
  const code = event.Data.Code;
  const e: ValidEvent = {
    job,
    deps,
    event,
    requestId,
    dedupeKey: dedupeKeyOf(requestId, job.data),
    rules: originRules(job.data.origin),
    label: codeLabel(code, (c) => deps.classifier.catalogueLabel(c)),
    cls: deps.classifier.classify(code, optionalString(event.Data.Message)),
  };
  if ((e.cls === 'success' || e.cls === 'permanent') && e.rules.finalCodesWithoutLookup) {
    return finalCode(e);
  }

  const known = await deps.store.lookup(e.dedupeKey, event.Data.JobId);
  if (known.processed) return duplicateOf(deps, e.label, requestId);
  if (e.rules.yieldsToReconciled && known.upload?.reconciled) {
    return supersededByReconciliation(deps, e.label, event);
  }
  // A lookup raced with the real callback, which was recorded first: the callback is the outcome.
  if (e.rules.yieldsToCallback && (await deps.uploads.settledByCallback(event.Data.JobId))) {
    deps.logger.info({ requestId, jobId: event.Data.JobId }, 'reconciled event superseded by its callback');
    return duplicateOf(deps, e.label, requestId);
  }
  if (e.cls === 'unknown') {
    return deadLetterEvent(job, deps, {
      requestId,
      reason: 'unknown_code',
      detail: `Code ${JSON.stringify(code.slice(0, 200))} is not in the retry policy`,
      cls: 'unknown',
      fields: fieldsOf(event),
      event,
    });
  }
  const attempt = known.upload?.attempt ?? 1;
  if (e.cls === 'retryable') return retryable(e, attempt, known.upload?.source);
  return reconciledFinal(e, attempt);
}

/** An event that passed the checks, with what every path needs. */
interface ValidEvent {
  job: EventJobLike;
  deps: EventProcessorDeps;
  event: ReceivedEvent;
  requestId: string;
  dedupeKey: string;
  rules: OriginRules;
  /** `code` label of the metrics. */
  label: string;
  cls: CodeClass;
}

/**
 * The envelope first (RequestId, EventType): VOD sends every event type a space subscribes to, and
 * only FileUploadByUrlComplete has the schema. Anything else ends here with its result.
 */
async function checkEvent(
  job: EventJobLike,
  deps: EventProcessorDeps,
): Promise<{ event: ReceivedEvent; requestId: string } | { result: EventResult }> {
  const parsed = parsedEventOf(job.data);
  const envelope = envelopeOf(parsed);
  const requestId = envelope.requestId ?? `job:${job.id ?? 'unknown'}`;
  const invalidPayload = async (detail: string) => {
    const input = {
      requestId,
      reason: 'invalid_payload',
      detail,
      cls: 'invalid',
      fields: fieldsOf(parsed),
    } as const;
    return { result: await deadLetterEvent(job, deps, input) };
  };
  if (envelope.eventType === undefined || envelope.requestId === undefined) {
    return invalidPayload(
      envelope.eventType === undefined ? '/EventType must be a non-empty string' : '/RequestId is not usable',
    );
  }
  if (!deps.acceptedEventTypes.has(envelope.eventType)) {
    const fields = fieldsOf(parsed);
    if (deps.unsupportedAction === 'ignore') {
      deps.metrics.processed.inc({ code: codeLabel(fields.code, () => undefined), class: 'unsupported' });
      deps.logger.debug({ requestId, eventType: envelope.eventType }, 'ignoring unsupported event type');
      return { result: { decision: 'ignored', requestId, class: 'unsupported' } };
    }
    const detail = `EventType ${JSON.stringify(envelope.eventType.slice(0, 100))} is not in ACCEPTED_EVENT_TYPES`;
    const input = { requestId, reason: 'unsupported_event', detail, cls: 'unsupported', fields } as const;
    return { result: await deadLetterEvent(job, deps, input) };
  }
  const validation = validateEvent(parsed);
  if (!validation.ok) return invalidPayload(validation.errors.join('; '));
  return { event: validation.event, requestId };
}

/**
 * Success and permanent failure do not depend on the attempt: one script call drops a duplicate,
 * takes the attempt from the JobId mapping and records (no lookup round trip first). A callback
 * whose JobId reconciliation already recorded (it came after all, e.g. VOD redelivered longer than
 * expected) writes nothing: the reconciled outcome stands.
 */
async function finalCode(e: ValidEvent): Promise<EventResult> {
  const cls = e.cls as 'success' | 'permanent';
  const decision = decide(cls, 1, e.deps.maxAttempts);
  const now = (e.deps.now ?? Date.now)();
  const outcome = outcomeOf(e.event, e.job.data, cls, decision, 1, now);
  const result = await e.deps.store.record(e.dedupeKey, outcome, e.rules.attemptFrom);
  if (!result.written) {
    return result.why === 'superseded_by_reconciliation'
      ? supersededByReconciliation(e.deps, e.label, e.event)
      : duplicateOf(e.deps, e.label, e.requestId);
  }
  return recorded(e.deps, e.event, e.label, { decision, class: cls, attempt: result.attempt });
}

/**
 * A retryable failure: the source's re-upload budget decides (shared by every callback for the
 * source); a granted re-upload is scheduled, then the outcome recorded (settling the grant).
 */
async function retryable(
  e: ValidEvent,
  attempt: number,
  tracked: UploadSource | undefined,
): Promise<EventResult> {
  const { deps, event, requestId } = e;
  // Uploads this system started re-send what it sent; others what the callback carries.
  const source = reuploadSourceOf(event, tracked);
  // Only into the spaces (and from the hosts) this deployment serves, before any budget is taken:
  // a callback names its own space and URL, and anyone able to post one would choose them.
  const refusal = deps.reuploadScope ? reuploadRefusal(deps.reuploadScope, source) : undefined;
  if (refusal !== undefined && decide('retryable', attempt, deps.maxAttempts, false) === 'dead_lettered') {
    return deadLetterEvent(e.job, deps, {
      requestId,
      reason: 'reupload_not_allowed',
      detail: refusal,
      cls: 'retryable',
      fields: fieldsOf(event),
      event,
    });
  }
  const claim = await deps.budget.claim(e.dedupeKey, sourceKeyOf(source), attempt, deps.maxAttempts);
  if (claim.kind === 'handled_before') {
    // Its processed marker expired (DEDUPE_TTL_SECONDS), but its re-upload was scheduled and its
    // outcome recorded: a late redelivery, nothing happens again.
    deps.logger.info({ requestId, jobId: event.Data.JobId }, 'redelivery of an event handled before');
    return duplicateOf(deps, e.label, requestId);
  }
  const now = deps.now ?? Date.now;
  let delayMs: number | undefined;
  if (claim.kind === 'granted') {
    delayMs = reuploadDelayMs(claim.upload - 1, deps.backoffBaseMs, deps.random);
    const data = {
      source,
      attempt: claim.upload,
      triggeredBy: requestId,
      code: event.Data.Code,
      scheduledAt: now(),
    };
    await deps.writers.scheduleReupload(e.dedupeKey, data, delayMs);
  }
  const decision = claim.kind === 'granted' ? 'reupload_scheduled' : 'retries_exhausted';
  const outcome = outcomeOf(event, e.job.data, 'retryable', decision, attempt, now());
  const result = await deps.store.record(e.dedupeKey, outcome, 'given', claim.kind === 'granted');
  if (!result.written) return duplicateOf(deps, e.label, requestId);
  return recorded(deps, event, e.label, { decision, class: 'retryable', attempt, delayMs });
}

/** A success or permanent failure reconciliation found (after the checks of the lookup path). */
async function reconciledFinal(e: ValidEvent, attempt: number): Promise<EventResult> {
  const cls = e.cls as 'success' | 'permanent';
  const decision = decide(cls, attempt, e.deps.maxAttempts);
  const outcome = outcomeOf(e.event, e.job.data, cls, decision, attempt, (e.deps.now ?? Date.now)());
  const result = await e.deps.store.record(e.dedupeKey, outcome);
  if (!result.written) return duplicateOf(e.deps, e.label, e.requestId);
  return recorded(e.deps, e.event, e.label, { decision, class: cls, attempt });
}

/** Counts, times and logs an event whose outcome was just recorded. */
function recorded(
  deps: EventProcessorDeps,
  event: ReceivedEvent,
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
  cls: 'invalid' | 'unsupported' | 'unknown' | 'retryable';
  /** What the outcome record keeps of the event (string fields only). */
  fields: EventFields;
  /** The validated event, when it passed the schema. */
  event?: ReceivedEvent;
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

/** VOD's own callback for a JobId whose outcome reconciliation recorded first: logged, then a duplicate. */
function supersededByReconciliation(
  deps: EventProcessorDeps,
  label: string,
  event: ReceivedEvent,
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
  event: ReceivedEvent,
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
    callbackArgs: optionalString(d.CallbackArgs),
    vid: optionalString(d.Vid),
    code: d.Code,
    class: cls,
    decision,
    attempt,
    eventTime: optionalString(event.EventTime),
    processedAt: new Date(now).toISOString(),
  };
  if (data.origin) record.origin = data.origin;
  return record;
}

function observeLag(deps: EventProcessorDeps, event: ReceivedEvent, now: number): void {
  const lag = eventAgeSeconds(event.EventTime, now);
  if (lag !== undefined) deps.metrics.lagSeconds.observe(lag);
}
