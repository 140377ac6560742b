import {
  DEAD_LETTERS_QUEUE,
  DEFAULT_JOB_SETTINGS,
  type DeadLetterJobData,
  EVENTS_QUEUE,
  type EventJobData,
  eventJobId,
  type ReuploadJobData,
  readSourceState,
  sourceKeyOf,
} from '@vod-callbacks/shared';
import { freePort, waitFor } from '@vod-callbacks/test-support';
import { SyntheticEventWriter, taskStateClass } from '@vod-callbacks/vod-client';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type InProcessSimulator,
  simulatorClient,
  startSimulatorInProcess,
} from '../../../../test/helpers/simulator-in-process.js';
import { type WorkerFixture, workerFixture } from '../../../../test/helpers/worker-fixture.js';
import { Reconciler } from '../reconciler.js';
import { UploadBatcher } from '../upload-batcher.js';
import { processEvent } from './event-processor.js';
import { processReupload, type ReuploadProcessorDeps } from './reupload-processor.js';

const source = {
  spaceName: 'space-int',
  sourceUrl: 'https://media.example.com/int.mp4?vodsim=ok~drop',
  callbackArgs: '{"itemId":"int-1"}',
  md5: 'abc',
};
const reuploadJob = (attempt = 2) => ({
  id: 'ru-test-1',
  data: {
    source,
    attempt,
    triggeredBy: 'req-1',
    code: 'InternalError.UrlUploadError',
    scheduledAt: 0,
  } satisfies ReuploadJobData,
});

// Real Redis and BullMQ, and the simulator in process (reached over HTTP through the official SDK).
describe('re-upload processor and reconciler against real Redis and the simulator', () => {
  let vod: InProcessSimulator;
  let fx: WorkerFixture;
  let deps: ReuploadProcessorDeps;

  beforeAll(async () => {
    vod = await startSimulatorInProcess('int');
  });
  afterAll(async () => {
    await vod.close();
  });
  beforeEach(() => {
    fx = workerFixture('reup');
    deps = fx.reuploadDeps(vod.api);
  });
  afterEach(async () => {
    await fx.close();
  });

  const counter = (name: string, result: string) => fx.counter(name, { result });

  it('without credentials dead-letters the re-upload (no_credentials) and records why', async () => {
    const result = await processReupload(reuploadJob(), { ...deps, batcher: undefined });
    expect(result).toEqual({ result: 'no_credentials', code: 'NoCredentials' });
    const dlq = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, { connection: fx.redis, prefix: fx.prefix });
    const letters = await dlq.getJobs(['waiting']);
    expect(letters.map((j) => [j.data.reason, j.data.reupload?.source.callbackArgs])).toEqual([
      ['no_credentials', source.callbackArgs],
    ]);
    const state = await readSourceState(fx.redis, fx.store.keys.sourceState(sourceKeyOf(source)));
    expect(state).toMatchObject({ decision: 'dead_lettered', reason: 'no_credentials', attempt: '1' });
    // Processing the same job again (a retry after a crash) writes nothing new.
    await processReupload(reuploadJob(), { ...deps, batcher: undefined });
    expect(await dlq.getJobs(['waiting'])).toHaveLength(1);
    expect(await counter('vod_reupload_requests_total', 'no_credentials')).toBe(2);
    await dlq.close();
  });

  it('records the new JobId so its callback continues the attempt count, and is pending until then', async () => {
    const result = await processReupload(reuploadJob(3), deps);
    if (result.result !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(result)}`);
    expect(await fx.uploads.get(result.jobId)).toMatchObject({
      attempt: 3,
      sourceKey: sourceKeyOf(source),
      source,
    });
    expect(await fx.redis.zscore(fx.store.keys.pendingUploads, result.jobId)).not.toBeNull();

    const event = {
      RequestId: 'cb-1',
      EventType: 'FileUploadByUrlComplete',
      Data: {
        Code: 'Success',
        JobId: result.jobId,
        SourceUrl: source.sourceUrl,
        SpaceName: source.spaceName,
        CallbackArgs: source.callbackArgs,
        Vid: 'v1',
      },
    };
    const eventDeps = fx.eventDeps();
    const processed = await processEvent(
      { id: 'e1', data: { body: JSON.stringify(event), receivedAt: 0 } },
      eventDeps,
    );
    expect(processed.decision).toBe('succeeded');
    const state = await readSourceState(fx.redis, fx.store.keys.sourceState(sourceKeyOf(source)));
    expect(state).toMatchObject({ attempt: '3', decision: 'succeeded' });
    expect(await fx.redis.zscore(fx.store.keys.pendingUploads, result.jobId)).toBeNull();

    // A reconciled copy arriving after the real callback is a duplicate, not a second outcome.
    const late = { ...event, RequestId: `reconcile:${result.jobId}` };
    const dup = await processEvent(
      { id: 'e2', data: { body: JSON.stringify(late), receivedAt: 0, origin: 'reconcile' } },
      eventDeps,
    );
    expect(dup.decision).toBe('duplicate');
  });

  it('the reconciler feeds a lost callback back as a synthetic event, once, with the customer’s CallbackArgs', async () => {
    const result = await processReupload(reuploadJob(), deps);
    if (result.result !== 'accepted') throw new Error('not accepted');
    // The simulator finishes the task (its callback is dropped).
    await waitFor('the task to finish', async () => {
      const { infos } = await vod.api.queryUploadTaskInfo([result.jobId]);
      return taskStateClass(infos[0]?.State) === 'success';
    });
    // Reconciled events get the configured event-job options, as the ingress gives callbacks.
    const events = new SyntheticEventWriter(fx.redis, fx.prefix, {
      EVENT_JOB_ATTEMPTS: 4,
      EVENT_JOB_KEEP_COMPLETED: 7,
    });
    let now = Date.now() + 10_000;
    const reconciler = new Reconciler({
      redis: fx.redis,
      uploads: fx.uploads,
      api: vod.api,
      events,
      metrics: fx.metrics,
      logger: fx.logger,
      afterSeconds: 5,
      intervalSeconds: 1,
      giveUpSeconds: 3600,
      maxPerPass: 100,
      now: () => now,
    });
    await fx.uploads.track(
      'never-existed',
      { sourceKey: 'k', attempt: 2, startedAt: now - 7200_000 },
      now - 7200_000,
    );

    const report = await reconciler.runPass();
    expect(report.emitted).toEqual([
      { jobId: result.jobId, state: 'success', requestId: `reconcile:${result.jobId}` },
    ]);
    expect(report.notFound).toEqual(['never-existed']);
    const queue = new Queue<EventJobData>(EVENTS_QUEUE, { connection: fx.redis, prefix: fx.prefix });
    const job = await queue.getJob(eventJobId(`reconcile:${result.jobId}`));
    expect(job?.data.origin).toBe('reconcile');
    expect(job?.opts).toMatchObject({ attempts: 4, removeOnComplete: { count: 7 } });
    const body = JSON.parse(job!.data.body);
    expect(body.Data).toMatchObject({
      Code: 'Success',
      JobId: result.jobId,
      CallbackArgs: source.callbackArgs,
    });
    expect(body.Data.Vid).toMatch(/^v0d/);
    // Unknown for longer than RECONCILE_GIVE_UP_SECONDS: dropped; the reconciled one waits for its event.
    expect(await fx.redis.zscore(fx.store.keys.pendingUploads, 'never-existed')).toBeNull();
    expect(await fx.redis.zscore(fx.store.keys.pendingUploads, result.jobId)).toBe(String(now));
    // Not due again until RECONCILE_AFTER_SECONDS later.
    now += 1000;
    expect((await reconciler.runPass()).emitted).toHaveLength(0);
    expect(await counter('vod_reconciled_uploads_total', 'success')).toBe(1);
    expect(await counter('vod_reconciled_uploads_total', 'not_found')).toBe(1);
    await queue.close();
    await events.close();
    await reconciler.close();
  });
  it('runs one reconcile pass per interval however many workers tick (Redis lock)', async () => {
    const events = new SyntheticEventWriter(fx.redis, fx.prefix, DEFAULT_JOB_SETTINGS);
    const make = () =>
      new Reconciler({
        redis: fx.redis,
        uploads: fx.uploads,
        api: vod.api,
        events,
        metrics: fx.metrics,
        logger: fx.logger,
        afterSeconds: 1,
        intervalSeconds: 2,
        giveUpSeconds: 3600,
        maxPerPass: 10,
      });
    const workers = [make(), make(), make()];
    const first = await Promise.all(workers.map((w) => w.tick()));
    expect(first.filter((r) => r !== undefined)).toHaveLength(1);
    const again = await Promise.all(workers.map((w) => w.tick()));
    expect(again.filter((r) => r !== undefined)).toHaveLength(0);
    await Promise.all(workers.map((w) => w.close()));
    await events.close();
  });
  it('a network error (nothing listening) is thrown for BullMQ to retry, not dead-lettered', async () => {
    const down = simulatorClient(vod.credentials, `127.0.0.1:${await freePort()}`);
    const err = await processReupload(reuploadJob(), {
      ...deps,
      batcher: new UploadBatcher(down, { waitMs: 0 }),
    }).catch((e) => e);
    expect(err).toMatchObject({ name: 'VodApiError', code: 'NetworkError', kind: 'retryable' });
    expect(await counter('vod_reupload_requests_total', 'retried')).toBe(1);
    const dlq = new Queue(DEAD_LETTERS_QUEUE, { connection: fx.redis, prefix: fx.prefix });
    expect(await dlq.getJobCounts('waiting')).toEqual({ waiting: 0 });
    await dlq.close();
  });
  it('5xx answers are retried; the final failed try records the source as dead-lettered (processing_error)', async () => {
    vod.simulator.injectFaults({ code: 'InternalError', status: 500, count: 2 });
    const job = (attemptsMade: number) => ({ ...reuploadJob(), attemptsMade, opts: { attempts: 3 } });
    await expect(processReupload(job(0), deps)).rejects.toMatchObject({
      code: 'InternalError',
      kind: 'retryable',
    });
    await expect(processReupload(job(1), deps)).rejects.toMatchObject({ code: 'InternalError' });
    const state = () => readSourceState(fx.redis, fx.store.keys.sourceState(sourceKeyOf(source)));
    expect(await state()).toEqual({});
    expect(await processReupload(job(2), deps)).toMatchObject({ result: 'accepted' });

    vod.simulator.injectFaults({ code: 'ServiceUnavailableTemp', status: 503, count: 1 });
    await expect(processReupload({ ...job(2), id: 'ru-last' }, deps)).rejects.toMatchObject({
      code: 'ServiceUnavailableTemp',
    });
    expect(await state()).toMatchObject({
      decision: 'dead_lettered',
      reason: 'processing_error',
      code: 'ServiceUnavailableTemp',
    });
  });
  it('a real callback arriving after the reconciled outcome of its JobId is a duplicate', async () => {
    await fx.uploads.track('job-late', { sourceKey: sourceKeyOf(source), attempt: 2, source }, Date.now());
    const eventDeps = fx.eventDeps();
    const data = {
      Code: 'Success',
      JobId: 'job-late',
      SourceUrl: source.sourceUrl,
      SpaceName: source.spaceName,
      CallbackArgs: source.callbackArgs,
    };
    const body = (RequestId: string) =>
      JSON.stringify({ RequestId, EventType: 'FileUploadByUrlComplete', Data: data });
    const reconciled = await processEvent(
      { id: 'r', data: { body: body('reconcile:job-late'), receivedAt: 0, origin: 'reconcile' } },
      eventDeps,
    );
    expect(reconciled.decision).toBe('succeeded');
    const late = await processEvent(
      { id: 'c', data: { body: body('vod-late-1'), receivedAt: 0 } },
      eventDeps,
    );
    expect(late.decision).toBe('duplicate');
    const outcomes = await fx.redis.xrange(`${fx.prefix}:outcomes`, '-', '+');
    expect(outcomes).toHaveLength(1);
  });
});
