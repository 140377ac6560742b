import { readFileSync } from 'node:fs';
import {
  EVENTS_QUEUE,
  eventJobId,
  outcomeFromFields,
  queueKeys,
  REUPLOADS_QUEUE,
} from '@vod-callbacks/shared';
import { deletePrefix, testRedisUrl, waitFor } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pipeline, postCallback, startPipeline } from './support/pipeline.js';
import { parsePromText, sampleValue } from './support/prom-text.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

// The acceptance check, through the built processes exactly as `npm run start:*` runs them.
describe('pipeline end to end (built ingress + worker processes, real Redis)', () => {
  let redis: Redis;
  let p: Pipeline;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    p = await startPipeline({
      label: 'e2e',
      env: { EVICTION_POLICY_CHECK: 'warn' },
      workerEnv: { REUPLOAD_BACKOFF_MS: '60000' },
    });
  });

  afterAll(async () => {
    const exits = await p?.stop();
    if (p) await deletePrefix(redis, p.prefix);
    redis.disconnect();
    // A clean shutdown on SIGTERM exits 128 + 15 (b9069b2; 1 would mean a shutdown step failed).
    expect(exits?.map((e) => e.code)).toEqual([143, 143]);
  });

  it('logs what each process listens on and which Redis it uses', () => {
    expect(p.ingress.output()).toMatch(
      /ingress listening on http:\/\/127\.0\.0\.1:\d+\/callbacks\/vod, redis standalone redis:\/\//,
    );
    expect(p.worker.output()).toMatch(
      /worker consuming vod-events .*\), metrics on http:\/\/.*:\d+\/metrics, redis standalone redis:\/\//,
    );
  });

  it('turns the seed samples and a transient failure into the right outcomes, visible in /metrics', async () => {
    const transient = fixture('seed-failure.json');
    transient.RequestId = 'e2e-transient';
    transient.Data.Code = 'InternalError.UrlUploadError';
    for (const body of [fixture('seed-success.json'), fixture('seed-failure.json'), transient]) {
      expect(await postCallback(p.ingressUrl, body)).toBe(200);
    }
    const records = await waitFor('three outcomes', async () => {
      const rows = await redis.xrange(`${p.prefix}:outcomes`, '-', '+');
      return rows.length >= 3 ? rows.map(([, f]) => outcomeFromFields(f)) : undefined;
    });
    const byId = Object.fromEntries(records.map((o) => [o.requestId, o]));
    expect(byId['2020072711510***05207114001CC4']).toMatchObject({
      decision: 'succeeded',
      vid: 'v02af6e500***3pbvh148u6ung0',
      callbackArgs: 'item id',
    });
    expect(byId['202206161501***216519620B65717']).toMatchObject({
      decision: 'failed_permanent',
      code: 'DownloadFailed.UrlDownloadFail',
    });
    expect(byId['e2e-transient']).toMatchObject({ decision: 'reupload_scheduled', class: 'retryable' });
    expect(await redis.zcard(queueKeys(p.prefix, REUPLOADS_QUEUE).delayed)).toBe(1);

    const workerMetrics = await (await fetch(p.workerMetricsUrl)).text();
    expect(workerMetrics).toMatch(/vod_events_processed_total\{code="Success",class="success"[^}]*\} 1/);
    expect(workerMetrics).toMatch(
      /vod_events_processed_total\{code="DownloadFailed.UrlDownloadFail",class="permanent"[^}]*\} 1/,
    );
    expect(workerMetrics).toMatch(
      /vod_events_processed_total\{code="InternalError.UrlUploadError",class="retryable"[^}]*\} 1/,
    );
    expect(workerMetrics).toMatch(/vod_reuploads_scheduled_total\{[^}]*\} 1/);
    expect(workerMetrics).toMatch(/vod_queue_jobs\{queue="vod-reuploads",shard="0",state="delayed"[^}]*\} 1/);
    expect(workerMetrics).toMatch(/process_cpu_user_seconds_total/);

    const ingressMetrics = await (await fetch(`${p.ingressUrl}/metrics`)).text();
    expect(ingressMetrics).toMatch(/vod_callbacks_received_total\{result="accepted"[^}]*\} 3/);
    expect(ingressMetrics).toMatch(/vod_callback_ack_seconds_count\{[^}]*\} 3/);
  });

  // DESIGN: duplicates are counted by the worker (class duplicate). A redelivery of a job BullMQ still
  // holds (EVENT_JOB_KEEP_COMPLETED, 1000 by default) collapses at the ingress, where no worker sees it.
  it('a redelivery of a job still held: 200, stored once, counted by the worker as class duplicate', async () => {
    const event = fixture('seed-success.json');
    event.RequestId = 'e2e-redelivered';
    const duplicates = async () =>
      sampleValue(
        parsePromText(await (await fetch(p.workerMetricsUrl)).text()),
        'vod_events_processed_total',
        {
          code: 'Success',
          class: 'duplicate',
        },
      ) ?? 0;
    const before = await duplicates();
    const outcomesOf = async () =>
      (await redis.xrange(`${p.prefix}:outcomes`, '-', '+')).filter(
        ([, f]) => outcomeFromFields(f).requestId === event.RequestId,
      ).length;
    expect(await postCallback(p.ingressUrl, event)).toBe(200);
    await waitFor('its outcome', async () => (await outcomesOf()) === 1);
    expect(await Promise.all([1, 2, 3].map(() => postCallback(p.ingressUrl, event)))).toEqual([
      200, 200, 200,
    ]);
    // The job is still there: the copies were not stored as jobs of their own.
    expect(
      await redis.exists(`${queueKeys(p.prefix, EVENTS_QUEUE).base}${eventJobId(event.RequestId)}`),
    ).toBe(1);
    await waitFor('three duplicates counted', async () => (await duplicates()) - before === 3, 10_000);
    expect(await outcomesOf()).toBe(1);
  });
  // Log collectors take one JSON object per line: a runtime or library warning on stderr (Fastify's
  // deprecation notices, Node's) would break that and is caught here, not only under a failover.
  it('every line either process wrote is one JSON object', () => {
    for (const proc of [p.ingress, p.worker]) {
      const lines = proc
        .output()
        .split('\n')
        .filter((line) => line !== '');
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.filter((line) => !line.startsWith('{'))).toEqual([]);
    }
  });
});
