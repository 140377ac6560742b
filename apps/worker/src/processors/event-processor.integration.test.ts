import { readFileSync } from 'node:fs';
import { CodeClassifier, readSourceState, sourceKeyOf, stableHash } from '@vod-callbacks/shared';
import { testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProcessorHarness, type ProcessorHarness } from '../../../../test/helpers/processor-harness.js';
import { processEvent } from './event-processor.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../../test/fixtures/${name}`, import.meta.url), 'utf8'));

describe('event processor against real Redis and BullMQ', () => {
  let h: ProcessorHarness;

  beforeEach(() => {
    h = createProcessorHarness(testRedisUrl(), uniquePrefix('proc'), { backoffBaseMs: 10_000 });
  });

  afterEach(async () => {
    await h.close();
  });

  /**
   * The job a worker gets for a callback: stored by the ingress's own writer (the callback's text
   * embedded as `data.event`) and read back through BullMQ. `event` is the callback or its JSON text.
   */
  const job = async (event: unknown) =>
    h.storedJob(await h.storeAsIngress(typeof event === 'string' ? event : JSON.stringify(event)));

  /** A replay's job, as `vodctl dlq replay` writes it (the body as a JSON string). */
  const replayJob = (event: unknown, replayOf: string) => ({
    id: `rp-${replayOf}`,
    data: { body: JSON.stringify(event), receivedAt: Date.now(), origin: 'replay' as const, replayOf },
  });

  const transient = (requestId: string, jobId = 'job-transient') => {
    const e = fixture('seed-failure.json');
    e.RequestId = requestId;
    e.Data.JobId = jobId;
    e.Data.Code = 'InternalError.UrlUploadError';
    e.Data.Message = 'internal error';
    e.Data.CallbackArgs = 'item-7';
    return e;
  };

  it('turns the seed success sample into a succeeded outcome with its Vid and CallbackArgs', async () => {
    const result = await processEvent(await job(fixture('seed-success.json')), h.deps);
    expect(result.decision).toBe('succeeded');
    const [o] = await h.outcomes();
    expect(o).toMatchObject({
      requestId: '2020072711510***05207114001CC4',
      decision: 'succeeded',
      class: 'success',
      vid: 'v02af6e500***3pbvh148u6ung0',
      callbackArgs: 'item id',
      attempt: 1,
      eventTime: '2020-07-27T11:04:05Z',
    });
    expect(await h.counter('vod_events_processed_total', { code: 'Success', class: 'success' })).toBe(1);
    const state = await readSourceState(
      h.redis,
      `${h.prefix}:source:${sourceKeyOf({ spaceName: 'ecqc-live', sourceUrl: 'http://xxx.mp4', callbackArgs: 'item id' })}`,
    );
    expect(state.decision).toBe('succeeded');
    expect(await h.redis.get(`${h.prefix}:source-by-url:${stableHash('http://xxx.mp4')}`)).toBe(
      state.sourceKey,
    );
  });

  it('turns the seed failure sample (404) into failed_permanent without a re-upload', async () => {
    const result = await processEvent(await job(fixture('seed-failure.json')), h.deps);
    expect(result.decision).toBe('failed_permanent');
    expect((await h.outcomes())[0]).toMatchObject({
      decision: 'failed_permanent',
      class: 'permanent',
      code: 'DownloadFailed.UrlDownloadFail',
    });
    expect(await h.reuploads.getJobCountByTypes('delayed', 'waiting')).toBe(0);
  });

  it('schedules a delayed re-upload with the source, next attempt and CallbackArgs for a retryable code', async () => {
    const result = await processEvent(await job(transient('rid-retry-1')), h.deps);
    expect(result).toMatchObject({ decision: 'reupload_scheduled', class: 'retryable', delayMs: 10_000 });
    const delayed = await h.reuploads.getDelayed();
    expect(delayed).toHaveLength(1);
    expect(delayed[0]?.opts.delay).toBe(10_000);
    expect(delayed[0]?.data).toMatchObject({
      attempt: 2,
      triggeredBy: 'rid-retry-1',
      code: 'InternalError.UrlUploadError',
      source: { spaceName: 'vod-v2-test', callbackArgs: 'item-7', fileExtension: '.mp4' },
    });
    // VOD's own SourceInfo.FileName (no suffix) and Md5 are not sent back as the customer's.
    expect(delayed[0]?.data.source).not.toHaveProperty('fileName');
    expect(delayed[0]?.data.source).not.toHaveProperty('md5');
    expect(await h.counter('vod_reuploads_scheduled_total')).toBe(1);
  });

  it('continues the attempt count of uploads this system started, and stops at REUPLOAD_MAX_ATTEMPTS', async () => {
    const sourceKey = sourceKeyOf({
      spaceName: 'vod-v2-test',
      sourceUrl: transient('x').Data.SourceUrl,
      callbackArgs: 'item-7',
    });
    await h.uploads.track('job-attempt-2', { sourceKey, attempt: 2 }, Date.now());
    await h.uploads.track('job-attempt-3', { sourceKey, attempt: 3 }, Date.now());

    const second = await processEvent(await job(transient('rid-a2', 'job-attempt-2')), h.deps);
    expect(second).toMatchObject({ decision: 'reupload_scheduled', delayMs: 20_000 });
    const third = await processEvent(await job(transient('rid-a3', 'job-attempt-3')), h.deps);
    expect(third.decision).toBe('retries_exhausted');
    const records = await h.outcomes();
    expect(records.map((o) => [o.attempt, o.decision])).toEqual([
      [2, 'reupload_scheduled'],
      [3, 'retries_exhausted'],
    ]);
    expect(await h.counter('vod_retries_exhausted_total')).toBe(1);
    // Recorded callbacks are no longer pending reconciliation.
    expect(await h.redis.zcard(`${h.prefix}:pending-uploads`)).toBe(0);
  });

  it('records the attempt of a tracked JobId for success and permanent codes (read by the record script)', async () => {
    const source = { spaceName: 'ecqc-live', sourceUrl: 'http://xxx.mp4', callbackArgs: 'item id' };
    await h.uploads.track('job-ok-3', { sourceKey: sourceKeyOf(source), attempt: 3 }, Date.now());
    await h.uploads.track('job-404-2', { sourceKey: sourceKeyOf(source), attempt: 2 }, Date.now());
    const ok = fixture('seed-success.json');
    ok.Data.JobId = 'job-ok-3';
    const notFound = fixture('seed-failure.json');
    notFound.Data.JobId = 'job-404-2';
    const untracked = fixture('seed-success.json');
    untracked.RequestId = 'rid-untracked';
    untracked.Data.JobId = 'job-never-seen';

    const results = await Promise.all(
      [ok, notFound, untracked].map(async (e) => processEvent(await job(e), h.deps)),
    );
    expect(results.map((r) => r.decision)).toEqual(['succeeded', 'failed_permanent', 'succeeded']);
    const byJob = new Map((await h.outcomes()).map((o) => [o.jobId, o.attempt]));
    expect(Object.fromEntries(byJob)).toEqual({ 'job-ok-3': 3, 'job-404-2': 2, 'job-never-seen': 1 });
    expect(await h.redis.zcard(`${h.prefix}:pending-uploads`)).toBe(0);
    expect(JSON.parse((await h.redis.get(`${h.prefix}:upload-job:job-ok-3`)) ?? '{}')).toMatchObject({
      attempt: 3,
    });
  });

  it('dead-letters unknown codes, unsupported event types and invalid payloads, each counted by reason', async () => {
    const unknown = fixture('seed-success.json');
    unknown.RequestId = 'rid-unknown';
    unknown.Data.Code = 'Brand.NewCode';
    const other = fixture('seed-success.json');
    other.RequestId = 'rid-other-type';
    other.EventType = 'FileUploadComplete';
    const invalid = {
      RequestId: 'rid-invalid',
      EventType: 'FileUploadByUrlComplete',
      Data: { Code: 'Success' },
    };

    // Spaced as a sender might: the dead letter must keep these bytes, not a re-serialisation.
    const unknownText = JSON.stringify(unknown, null, 2);
    expect((await processEvent(await job(unknownText), h.deps)).reason).toBe('unknown_code');
    expect((await processEvent(await job(other), h.deps)).reason).toBe('unsupported_event');
    expect((await processEvent(await job(invalid), h.deps)).reason).toBe('invalid_payload');

    const letters = await h.deadLetters.getWaiting();
    expect(letters.map((j) => j.data.reason).sort()).toEqual([
      'invalid_payload',
      'unknown_code',
      'unsupported_event',
    ]);
    expect(letters.find((j) => j.data.reason === 'unknown_code')?.data.body).toBe(unknownText);
    expect((await h.outcomes()).map((o) => o.decision)).toEqual([
      'dead_lettered',
      'dead_lettered',
      'dead_lettered',
    ]);
    expect(await h.counter('vod_dead_letters_total', { reason: 'unknown_code' })).toBe(1);
    expect(await h.counter('vod_events_processed_total', { code: 'other', class: 'unknown' })).toBe(1);
    expect(await h.counter('vod_events_processed_total', { class: 'invalid' })).toBe(1);
  });

  it('ignores unsupported event types when configured, recording nothing', async () => {
    const other = fixture('seed-success.json');
    other.EventType = 'SomethingElse';
    const result = await processEvent(await job(other), { ...h.deps, unsupportedAction: 'ignore' });
    expect(result.decision).toBe('ignored');
    expect(await h.outcomes()).toHaveLength(0);
  });

  it('records one outcome per RequestId, however often it is processed (also concurrently)', async () => {
    const event = transient('rid-dup');
    const results = await Promise.all([1, 2, 3, 4].map(async () => processEvent(await job(event), h.deps)));
    expect(results.filter((r) => r.decision === 'reupload_scheduled')).toHaveLength(1);
    expect(results.filter((r) => r.decision === 'duplicate')).toHaveLength(3);
    expect(await h.outcomes()).toHaveLength(1);
    expect(await h.reuploads.getJobCountByTypes('delayed')).toBe(1);
    expect(await h.counter('vod_events_processed_total', { class: 'duplicate' })).toBe(3);
  });

  it('lets a replay of a dead letter run once more, but only once', async () => {
    const unknown = fixture('seed-success.json');
    unknown.Data.Code = 'Brand.NewCode';
    await processEvent(await job(unknown), h.deps);
    const replayDeps = {
      ...h.deps,
      classifier: new CodeClassifier({
        ...h.deps.classifier.policy,
        exact: { ...h.deps.classifier.policy.exact, 'Brand.NewCode': 'success' },
      }),
    };
    const first = await processEvent(replayJob(unknown, 'dl-1'), replayDeps);
    const second = await processEvent(replayJob(unknown, 'dl-1'), replayDeps);
    expect(first.decision).toBe('succeeded');
    expect(second.decision).toBe('duplicate');
    expect((await h.outcomes()).map((o) => [o.decision, o.origin ?? ''])).toEqual([
      ['dead_lettered', ''],
      ['succeeded', 'replay'],
    ]);
  });
});
