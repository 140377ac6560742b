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
  type UploadCompleteEvent,
  validateEvent,
  type WorkerMetrics,
} from '@vod-callbacks/shared';
import type { Logger } from 'pino';
import { decide } from '../decide.js';
import type { JobWriters } from '../job-writers.js';
import type { OutcomeStore } from '../outcome-store.js';

/** What the event processor needs. */
export interface EventProcessorDeps {
  store: OutcomeStore;
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
function dedupeKeyOf(requestId: string, data: EventJobData): string {
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
  const parsed = job.data.body === undefined ? job.data.event : parseBody(job.data.body);
  const validation = validateEvent(parsed);

  if (!validation.ok) {
    const rawId = (parsed as { RequestId?: unknown } | undefined)?.RequestId;
    const requestId = isUsableRequestId(rawId) ? rawId : `job:${job.id ?? 'unknown'}`;
    const code = String((parsed as { Data?: { Code?: unknown } } | undefined)?.Data?.Code ?? '');
    return deadLetterEvent(job, deps, {
      requestId,
      reason: 'invalid_payload',
      detail: validation.errors.join('; '),
      cls: 'invalid',
      code,
      event: undefined,
    });
  }

  const event = validation.event;
  const requestId = event.RequestId;
  const dedupeKey = dedupeKeyOf(requestId, job.data);
  const code = event.Data.Code;

  if (!deps.acceptedEventTypes.has(event.EventType)) {
    if (deps.unsupportedAction === 'ignore') {
      deps.metrics.processed.inc({ code: codeLabel(code, () => false), class: 'unsupported' });
      deps.logger.debug({ requestId, eventType: event.EventType }, 'ignoring unsupported event type');
      return { decision: 'ignored', requestId, class: 'unsupported' };
    }
    return deadLetterEvent(job, deps, {
      requestId,
      reason: 'unsupported_event',
      detail: `EventType ${JSON.stringify(event.EventType.slice(0, 100))} is not in ACCEPTED_EVENT_TYPES`,
      cls: 'unsupported',
      code,
      event,
    });
  }

  const label = codeLabel(code, (c) => deps.classifier.isKnownCode(c));
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
  if (job.data.origin === 'reconcile' && (await deps.store.settledByCallback(event.Data.JobId))) {
    deps.logger.info({ requestId, jobId: event.Data.JobId }, 'reconciled event superseded by its callback');
    return duplicateOf(deps, label, requestId);
  }

  if (cls === 'unknown') {
    return deadLetterEvent(job, deps, {
      requestId,
      reason: 'unknown_code',
      detail: `Code ${JSON.stringify(code.slice(0, 200))} is not in the retry policy`,
      cls,
      code,
      event,
    });
  }

  const attempt = known.upload?.attempt ?? 1;
  const decision = decide(cls, attempt, deps.maxAttempts);
  let delayMs: number | undefined;
  if (decision === 'reupload_scheduled') {
    delayMs = reuploadDelayMs(attempt, deps.backoffBaseMs, deps.random);
    await deps.writers.scheduleReupload(
      dedupeKey,
      {
        // Uploads this system started re-send what it sent; others what the callback carries.
        source: reuploadSourceOf(event, known.upload?.source),
        attempt: attempt + 1,
        triggeredBy: requestId,
        code,
        scheduledAt: now(),
      },
      delayMs,
    );
  }

  const result = await deps.store.record(
    dedupeKey,
    outcomeOf(event, job.data, cls, decision, attempt, now()),
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
  code: string;
  event: UploadCompleteEvent | undefined;
}

async function deadLetterEvent(
  job: EventJobLike,
  deps: EventProcessorDeps,
  input: DeadLetterInput,
): Promise<EventResult> {
  const now = (deps.now ?? Date.now)();
  const dedupeKey = dedupeKeyOf(input.requestId, job.data);
  const label = codeLabel(input.code, (c) => deps.classifier.isKnownCode(c));
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
  const outcome: OutcomeRecord = input.event
    ? outcomeOf(input.event, job.data, input.cls, 'dead_lettered', 1, now)
    : {
        requestId: input.requestId,
        jobId: '',
        spaceName: '',
        sourceUrl: '',
        callbackArgs: '',
        vid: '',
        code: input.code.slice(0, 200),
        class: 'invalid',
        decision: 'dead_lettered',
        attempt: 1,
        eventTime: '',
        processedAt: new Date(now).toISOString(),
      };
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
