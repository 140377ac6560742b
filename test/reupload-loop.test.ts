import {
  DEAD_LETTERS_QUEUE,
  type DeadLetterJobData,
  EVENT_JOB_NAME,
  EVENTS_QUEUE,
  eventJobId,
  type OutcomeRecord,
  outcomeFromFields,
  RedisKeys,
  signCallback,
  sourceKeyOf,
} from '@vod-callbacks/shared';
import {
  type AppProcess,
  deletePrefix,
  freePort,
  startApp,
  testRedisUrl,
  uniquePrefix,
  waitFor,
} from '@vod-callbacks/test-support';
import { taskStateClass, type VodApiClient, VodApiError } from '@vod-callbacks/vod-client';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatorClient } from './helpers/simulator-in-process.js';
import { expectReconciledReupload, settledSourceState } from './helpers/source-state.js';
import { type SimulatedPipeline, startPipelineWithSimulator } from './support/pipeline.js';

// The re-upload loop through built processes: the VOD simulator (OpenAPI + callbacks), the ingress
// requiring VOD's callback signature, and the worker calling the simulator through the official SDK.
// Times are scaled down: re-upload backoff 300 ms, redelivery 200/400/800 ms, reconcile after 2 s.

const AK = 'AKLTe2etest';
const SK = 'e2e-secret-key';
const PRIVATE_KEY = 'e2eKey12345';

/** The simulator signing its callbacks, the ingress requiring the signature, the worker re-uploading. */
type Stack = SimulatedPipeline;

function startStack(opts: { simQps?: number; workerEnv?: Record<string, string> } = {}): Promise<Stack> {
  return startPipelineWithSimulator({
    label: 'reup',
    credentials: { accessKeyId: AK, secretKey: SK },
    callbackPrivateKey: PRIVATE_KEY,
    env: { EVICTION_POLICY_CHECK: 'warn' },
    simulatorEnv: {
      SIM_CALLBACK_PRIVATE_KEY: PRIVATE_KEY,
      SIM_REDELIVERY_DELAYS_MS: '200,400,800',
      SIM_PROCESSING_MS: '100',
      SIM_QPS: String(opts.simQps ?? 500),
    },
    workerEnv: {
      REUPLOAD_BACKOFF_MS: '300',
      REUPLOAD_API_BACKOFF_MS: '200',
      REUPLOAD_API_ATTEMPTS: '15',
      REUPLOAD_SPACES: [
        'e2e-space',
        'space-5xx',
        'bad-key-space',
        ...Array.from({ length: 20 }, (_, i) => `throttle-space-${i}`),
      ].join(','),
      RECONCILE_AFTER_SECONDS: '2',
      RECONCILE_INTERVAL_SECONDS: '1',
      ...opts.workerEnv,
    },
  });
}

function customer(stack: Stack): VodApiClient {
  return simulatorClient(stack.credentials, new URL(stack.simUrl).host);
}

/** The customer's own UploadMediaByUrl, retried if the simulator throttles it. */
async function upload(stack: Stack, spaceName: string, urls: { SourceUrl: string; CallbackArgs: string }[]) {
  return waitFor(
    'UploadMediaByUrl',
    async () => {
      try {
        return await customer(stack).uploadMediaByUrl(spaceName, urls);
      } catch (err) {
        if (err instanceof VodApiError && err.code === 'FlowLimitExceeded') return undefined;
        throw err;
      }
    },
    10_000,
    300,
  );
}

async function simStats(stack: Stack) {
  return (await (await fetch(`${stack.simUrl}/sim/stats`)).json()) as {
    api: {
      throttled: number;
      errors: Record<string, number>;
      urlsAccepted: number;
      uploadBatchSizes: Record<string, number>;
    };
    callbacks: { delivered: number };
  };
}

async function metricValue(stack: Stack, line: RegExp): Promise<number> {
  const text = await (await fetch(stack.workerMetricsUrl)).text();
  const found = text.split('\n').find((l) => line.test(l));
  return found ? Number(found.split(' ').pop()) : 0;
}

async function outcomesOf(redis: Redis, prefix: string, sourceUrl: string): Promise<OutcomeRecord[]> {
  const rows = await redis.xrange(`${prefix}:outcomes`, '-', '+');
  return rows.map(([, f]) => outcomeFromFields(f)).filter((o) => o.sourceUrl === sourceUrl);
}

async function settled(
  redis: Redis,
  prefix: string,
  spaceName: string,
  sourceUrl: string,
  callbackArgs: string,
) {
  const key = new RedisKeys(prefix).sourceState(sourceKeyOf({ spaceName, sourceUrl, callbackArgs }));
  return settledSourceState(redis, key, sourceUrl);
}

async function stopStack(stack: Stack | undefined, redis: Redis): Promise<void> {
  if (!stack) return;
  await stack.stop();
  await deletePrefix(redis, stack.prefix);
}

describe('re-upload loop against the VOD simulator (built processes, real Redis)', () => {
  let redis: Redis;
  let stack: Stack;
  const space = 'e2e-space';
  const url = (name: string, script: string) => `https://media.example.com/e2e/${name}.mp4?vodsim=${script}`;
  const cases = {
    twice: { SourceUrl: url('twice', 'fail,fail,ok'), CallbackArgs: '{"itemId":"twice","tenant":"a|b"}' },
    exhausted: { SourceUrl: url('exhausted', 'fail'), CallbackArgs: 'item-exhausted' },
    notFound: { SourceUrl: url('gone', '404'), CallbackArgs: 'item-404' },
    md5: { SourceUrl: url('md5', 'md5'), CallbackArgs: 'item-md5' },
    deny: { SourceUrl: url('deny', 'deny'), CallbackArgs: 'item-deny' },
    dropped: { SourceUrl: url('dropped', 'fail,ok~drop'), CallbackArgs: 'item-dropped' },
  };

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    stack = await startStack();
    await upload(stack, space, Object.values(cases));
  });
  afterAll(async () => {
    await stopStack(stack, redis);
    redis.disconnect();
  });

  it('transient failure twice then success: succeeded after 2 re-uploads, CallbackArgs intact', async () => {
    const c = cases.twice;
    const state = await settled(redis, stack.prefix, space, c.SourceUrl, c.CallbackArgs);
    expect(state).toMatchObject({
      decision: 'succeeded',
      attempt: '3',
      callbackArgs: c.CallbackArgs,
      code: 'Success',
    });
    expect(state.vid).toMatch(/^v0d/);
    const records = await outcomesOf(redis, stack.prefix, c.SourceUrl);
    expect(records.map((r) => [r.attempt, r.decision, r.callbackArgs])).toEqual([
      [1, 'reupload_scheduled', c.CallbackArgs],
      [2, 'reupload_scheduled', c.CallbackArgs],
      [3, 'succeeded', c.CallbackArgs],
    ]);
    // Three different JobIds: the customer's and two started by the worker.
    expect(new Set(records.map((r) => r.jobId)).size).toBe(3);
  });

  it('budget exhausted: retries_exhausted at the third upload', async () => {
    const c = cases.exhausted;
    const state = await settled(redis, stack.prefix, space, c.SourceUrl, c.CallbackArgs);
    expect(state).toMatchObject({
      decision: 'retries_exhausted',
      attempt: '3',
      code: 'InternalError.UrlUploadError',
    });
  });

  it('permanent codes: failed_permanent and never re-uploaded', async () => {
    for (const c of [cases.notFound, cases.md5, cases.deny]) {
      const state = await settled(redis, stack.prefix, space, c.SourceUrl, c.CallbackArgs);
      expect(state).toMatchObject({ decision: 'failed_permanent', attempt: '1' });
      expect(await outcomesOf(redis, stack.prefix, c.SourceUrl)).toHaveLength(1);
    }
  });

  it('dropped callback: the re-upload is reconciled with QueryUploadTaskInfo', async () => {
    const c = cases.dropped;
    const state = await settled(redis, stack.prefix, space, c.SourceUrl, c.CallbackArgs);
    expectReconciledReupload(state, c.CallbackArgs);
    expect(await redis.zscore(new RedisKeys(stack.prefix).pendingUploads, state.jobId!)).toBeNull();
    expect(
      await metricValue(stack, /^vod_reconciled_uploads_total\{result="success"/),
    ).toBeGreaterThanOrEqual(1);
  });

  it('made exactly the uploads the policy allows, and counted them', async () => {
    // Wait for everything to settle, then count per case (other tests upload on the same stack):
    // 6 customer uploads + 2 + 2 + 1 re-uploads, each with its own JobId and one outcome.
    const uploads: Record<string, number> = {};
    for (const [name, c] of Object.entries(cases)) {
      await settled(redis, stack.prefix, space, c.SourceUrl, c.CallbackArgs);
      uploads[name] = new Set((await outcomesOf(redis, stack.prefix, c.SourceUrl)).map((o) => o.jobId)).size;
    }
    expect(uploads).toEqual({ twice: 3, exhausted: 3, notFound: 1, md5: 1, deny: 1, dropped: 2 });
    // Only these cases re-upload: the other tests' uploads succeed at once.
    expect(await metricValue(stack, /^vod_reupload_requests_total\{result="accepted"/)).toBe(5);
  });

  it('vodctl reconcile --job-ids feeds a lost callback of a job started elsewhere through the pipeline', async () => {
    const sourceUrl = url('customer-lost', 'ok~drop');
    // The customer's own CallbackArgs: this system never saw them, only QueryUploadTaskInfo has them.
    const callbackArgs = '{"itemId":"lost-elsewhere"}';
    const [accepted] = await upload(stack, space, [{ SourceUrl: sourceUrl, CallbackArgs: callbackArgs }]);
    const jobId = accepted!.JobId;
    // The simulator finishes the task (its callback is dropped by the script).
    await waitFor('the task to finish', async () => {
      const { infos } = await customer(stack).queryUploadTaskInfo([jobId]);
      return taskStateClass(infos[0]?.State) === 'success';
    });
    const simHost = new URL(stack.simUrl).host;
    const env = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: stack.prefix,
      VOLC_ACCESSKEY: AK,
      VOLC_SECRETKEY: SK,
      VOD_API_HOST: simHost,
      VOD_API_PROTOCOL: 'http:',
    };
    const cli = await startApp('cli', env, undefined, ['reconcile', '--job-ids', `${jobId},no-such-job`]);
    const exit = await cli.exited;
    expect(cli.output()).toContain(`${jobId}  success  queued as reconcile:${jobId}`);
    expect(cli.output()).toContain('no-such-job  not_found');
    expect(exit.code).toBe(1); // one JobId was not found
    const state = await settled(redis, stack.prefix, space, sourceUrl, callbackArgs);
    expect(state).toMatchObject({
      decision: 'succeeded',
      origin: 'reconcile',
      callbackArgs,
      jobId,
      requestId: `reconcile:${jobId}`,
    });
  });

  it('signature-required ingress accepts the simulator’s callbacks and refuses tampered or unsigned ones', async () => {
    // The cases' uploads bring 10 callbacks (one of the dropped case's two is not sent).
    await waitFor(
      'the simulator’s callbacks accepted',
      async () => (await simStats(stack)).callbacks.delivered >= 10,
      30_000,
      100,
    );
    const body = Buffer.from(
      JSON.stringify({
        RequestId: 'e2e-tamper-1',
        EventType: 'FileUploadByUrlComplete',
        Data: { Code: 'Success', JobId: 'j', SourceUrl: 'https://a.example/x', SpaceName: space, Vid: 'v1' },
      }),
    );
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = signCallback(stack.callbackUrl, ts, PRIVATE_KEY, body);
    const post = (b: Buffer, headers: Record<string, string>) =>
      fetch(stack.callbackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: b,
      });
    const tampered = Buffer.from(body.toString().replace('"v1"', '"v2"'));
    expect((await post(tampered, { 'x-vod-timestamp': ts, 'x-vod-signature': signature })).status).toBe(401);
    expect((await post(body, {})).status).toBe(401);
    expect((await post(body, { 'x-vod-timestamp': ts, 'x-vod-signature': signature })).status).toBe(200);
  });
});

describe('re-uploads against a throttling API and with bad credentials', () => {
  let redis: Redis;
  let stack: Stack;
  let badWorker: AppProcess;
  const badPrefix = uniquePrefix('reup-bad');

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    // 2 QPS: a dozen re-uploads in a dozen spaces (no batching possible) cannot all pass at once.
    stack = await startStack({ simQps: 2, workerEnv: { REUPLOAD_BATCH_WAIT_MS: '0' } });
    badWorker = await startApp(
      'worker',
      {
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: badPrefix,
        WORKER_METRICS_PORT: String(await freePort()),
        REUPLOAD_BACKOFF_MS: '100',
        VOLC_ACCESSKEY: AK,
        VOLC_SECRETKEY: 'not-the-secret',
        REUPLOAD_SPACES: 'bad-key-space',
        VOD_API_HOST: new URL(stack.simUrl).host,
        VOD_API_PROTOCOL: 'http:',
      },
      /worker consuming/,
    );
  });
  afterAll(async () => {
    await badWorker?.kill('SIGTERM');
    await deletePrefix(redis, badPrefix);
    await stopStack(stack, redis);
    redis.disconnect();
  });

  it('throttled API: re-uploads are retried with backoff and all eventually succeed', async () => {
    const urls = Array.from({ length: 12 }, (_, i) => ({
      space: `throttle-space-${i}`,
      SourceUrl: `https://media.example.com/throttle/${i}.mp4?vodsim=fail,ok`,
      CallbackArgs: `item-${i}`,
    }));
    const accepted = () => metricValue(stack, /^vod_reupload_requests_total\{result="accepted"/);
    const retried = () => metricValue(stack, /^vod_reupload_requests_total\{result="retried"/);
    const before = {
      throttled: (await simStats(stack)).api.throttled,
      accepted: await accepted(),
      retried: await retried(),
    };
    for (const u of urls) await upload(stack, u.space, [u]);
    for (const u of urls) {
      const state = await settled(redis, stack.prefix, u.space, u.SourceUrl, u.CallbackArgs);
      expect(state).toMatchObject({ decision: 'succeeded', attempt: '2', callbackArgs: u.CallbackArgs });
    }
    expect((await simStats(stack)).api.throttled).toBeGreaterThan(before.throttled);
    expect(await retried()).toBeGreaterThan(before.retried);
    expect((await accepted()) - before.accepted).toBe(12);
  });

  it('5xx answers of the API: the re-upload is retried with backoff and succeeds', async () => {
    const u = { SourceUrl: 'https://media.example.com/5xx.mp4?vodsim=fail,ok', CallbackArgs: 'item-5xx' };
    const before = (await simStats(stack)).api.errors.InternalError ?? 0;
    await upload(stack, 'space-5xx', [u]);
    // Right after the customer's call, well before the re-upload is due (processing + backoff).
    const res = await fetch(`${stack.simUrl}/sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'InternalError', status: 500, count: 3 }),
    });
    expect(res.status).toBe(200);
    const state = await settled(redis, stack.prefix, 'space-5xx', u.SourceUrl, u.CallbackArgs);
    expect(state).toMatchObject({ decision: 'succeeded', attempt: '2' });
    expect((await simStats(stack)).api.errors.InternalError).toBe(before + 3);
  });

  it('bad AK/SK: the re-upload is dead-lettered with the API’s code, not retried', async () => {
    const event = {
      RequestId: 'e2e-bad-key-1',
      Version: '1.0',
      EventType: 'FileUploadByUrlComplete',
      EventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      Data: {
        Code: 'InternalError.UrlUploadError',
        Message: 'internal upload error',
        JobId: 'customer-job-1',
        SourceUrl: 'https://media.example.com/bad-key.mp4',
        CallbackArgs: 'item-bad-key',
        SpaceName: 'bad-key-space',
      },
    };
    const events = new Queue(EVENTS_QUEUE, { connection: redis.duplicate(), prefix: badPrefix });
    await events.add(
      EVENT_JOB_NAME,
      { body: JSON.stringify(event), receivedAt: Date.now() },
      { jobId: eventJobId(event.RequestId), attempts: 3 },
    );
    await events.close();
    const state = await settled(redis, badPrefix, 'bad-key-space', event.Data.SourceUrl, 'item-bad-key');
    expect(state).toMatchObject({
      decision: 'dead_lettered',
      reason: 'reupload_rejected',
      code: 'SignatureDoesNotMatch',
    });
    const dlq = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, {
      connection: redis.duplicate(),
      prefix: badPrefix,
    });
    const letters = await dlq.getJobs(['waiting']);
    await dlq.close();
    expect(letters.map((j) => j.data.reason)).toEqual(['reupload_rejected']);
    expect(letters[0]!.data.detail).toMatch(/^SignatureDoesNotMatch: /);
    expect(letters[0]!.data.reupload?.source.callbackArgs).toBe('item-bad-key');
    // Exactly one refused call: a credential error is not retried.
    expect((await simStats(stack)).api.errors.SignatureDoesNotMatch).toBe(1);
  });
});
