import { readFileSync } from 'node:fs';
import { EVENTS_QUEUE, type EventJobData, eventJobDataJson, eventJobId } from '@vod-callbacks/shared';
import {
  deletePrefix,
  freePort,
  startRedisServer,
  testRedisUrl,
  uniquePrefix,
  waitFor,
} from '@vod-callbacks/test-support';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIngressHarness, type IngressHarness } from '../../../test/helpers/ingress-harness.js';

const seedSuccess = readFileSync(
  new URL('../../../test/fixtures/seed-success.json', import.meta.url),
  'utf8',
);

type Harness = IngressHarness;

const harness = (redisUrl: string, prefix: string, env: Record<string, string> = {}, waitForRedis = true) =>
  createIngressHarness(
    { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, ENQUEUE_TIMEOUT_MS: '500', ...env },
    undefined,
    waitForRedis,
  );

const post = (app: FastifyInstance, payload: string | Buffer, contentType = 'application/json') =>
  app.inject({ method: 'POST', url: '/callbacks/vod', headers: { 'content-type': contentType }, payload });

describe('ingress against real Redis', () => {
  let prefix: string;
  let h: Harness;
  let inspector: Queue<EventJobData>;

  beforeEach(async () => {
    prefix = uniquePrefix('ing');
    h = await harness(testRedisUrl(), prefix);
    inspector = new Queue<EventJobData>(EVENTS_QUEUE, { connection: { url: testRedisUrl() }, prefix });
  });

  const storedData = (jobId: string) => h.redis.hget(`${prefix}:${EVENTS_QUEUE}:${jobId}`, 'data');

  afterEach(async () => {
    await deletePrefix(h.redis, prefix);
    await inspector.close();
    await h.close();
  });

  it('answers 200 only once the job is stored, with the body as received', async () => {
    const res = await post(h.app, seedSuccess);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true, requestId: '2020072711510***05207114001CC4' });
    const job = await inspector.getJob(eventJobId('2020072711510***05207114001CC4'));
    // Workers get the event parsed with the job; Redis holds the body's bytes verbatim.
    expect(job?.data.event).toEqual(JSON.parse(seedSuccess));
    expect(job?.data.receivedAt).toBeGreaterThan(Date.now() - 10_000);
    expect(await storedData(eventJobId('2020072711510***05207114001CC4'))).toBe(
      eventJobDataJson(seedSuccess, job?.data.receivedAt ?? 0),
    );
    expect(await h.received('accepted')).toBe(1);
  });

  it('collapses a redelivered RequestId onto one job and still answers 200', async () => {
    const first = await post(h.app, seedSuccess);
    const again = await post(
      h.app,
      seedSuccess.replace('"file upload success"', '"file upload success (redelivered)"'),
    );
    expect(first.statusCode).toBe(200);
    expect(again.statusCode).toBe(200);
    expect(await inspector.getJobCountByTypes('waiting', 'active', 'delayed', 'completed')).toBe(1);
    const job = await inspector.getJob(eventJobId('2020072711510***05207114001CC4'));
    expect(job?.data.event).toEqual(JSON.parse(seedSuccess));
  });

  it('accepts RequestIds BullMQ would reject as ids (integer-like, with colons)', async () => {
    for (const id of ['12345', 'reconcile:job-1']) {
      const res = await post(h.app, JSON.stringify({ RequestId: id }));
      expect(res.statusCode).toBe(200);
      expect(await inspector.getJob(eventJobId(id))).toBeDefined();
    }
  });

  it.each([
    ['malformed JSON', '{"RequestId": "a",', 400, 'invalid_json'],
    ['a JSON array', '[1,2]', 400, 'not_an_object'],
    ['no RequestId', '{"Data":{}}', 400, 'invalid_request_id'],
    ['a numeric RequestId', '{"RequestId": 5}', 400, 'invalid_request_id'],
    ['nesting deeper than 32', `{"RequestId":"d","x":${'['.repeat(40)}${']'.repeat(40)}}`, 400, 'too_deep'],
  ])('refuses %s (status and code as listed) and stores nothing', async (_label, body, status, code) => {
    const res = await post(h.app, body);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ error: code, message: expect.any(String) });
    expect(await inspector.getJobCountByTypes('waiting', 'active', 'delayed', 'completed')).toBe(0);
  });

  it('answers 415 for other content types and 413 over the body limit, counted', async () => {
    const text = await post(h.app, seedSuccess, 'text/plain');
    expect(text.statusCode).toBe(415);
    expect(text.json().error).toBe('unsupported_media_type');
    const big = await post(h.app, JSON.stringify({ RequestId: 'big', pad: 'x'.repeat(300 * 1024) }));
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toBe('too_large');
    expect(await h.received('unsupported_media_type')).toBe(1);
    expect(await h.received('too_large')).toBe(1);
  });

  it('reports readiness from Redis', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('ingress with Redis down', () => {
  it('answers 503 with Retry-After, never 200, and /readyz 503', async () => {
    const deadUrl = `redis://127.0.0.1:${await freePort()}`;
    const h = await harness(deadUrl, uniquePrefix('down'), {}, false);
    try {
      const started = Date.now();
      const res = await post(h.app, seedSuccess);
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json().error).toBe('unavailable');
      // No offline queue: a dead Redis fails fast rather than waiting out ENQUEUE_TIMEOUT_MS.
      expect(Date.now() - started).toBeLessThan(1500);
      expect((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      expect(await h.received('unavailable')).toBe(1);
    } finally {
      await h.close();
    }
  });
});

describe('ingress started before Redis', () => {
  it('answers 503 while Redis is absent and 200 once it comes up, without a restart', async () => {
    const port = await freePort();
    const h = await harness(`redis://127.0.0.1:${port}`, uniquePrefix('late'), {}, false);
    const server = { stop: async () => {} };
    try {
      expect((await post(h.app, seedSuccess)).statusCode).toBe(503);
      const redis = await startRedisServer({ port });
      server.stop = () => redis.stop();
      await waitFor('producer connection ready', () => h.redis.status === 'ready', 10_000);
      const res = await post(h.app, seedSuccess);
      expect(res.statusCode).toBe(200);
      expect(await h.enqueuer.queues[0]!.getJob(eventJobId('2020072711510***05207114001CC4'))).toBeDefined();
    } finally {
      await h.close();
      await server.stop();
    }
  });
});
