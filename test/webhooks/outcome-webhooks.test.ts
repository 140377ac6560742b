import { signWebhook, webhookIdOf } from '@vod-callbacks/shared';
import { startApp, startWebhookReceiver, type WebhookReceiver, waitFor } from '@vod-callbacks/test-support';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../apps/cli/src/dispatcher.js';
import { COMMANDS } from '../../apps/cli/src/main.js';
import { type Pipeline, postCallback, startPipeline, uploadEvent } from '../support/pipeline.js';
import { parsePromText, sampleValue } from '../support/prom-text.js';
import {
  deliveryVerdict,
  finalOutcomes,
  reportWebhooks,
  sendRealisticMix,
  webhookEnv,
} from './webhook-support.js';

// Outcome webhooks end to end: the built ingress and worker, a real receiver on 127.0.0.1 that
// verifies every request with the standardwebhooks verifier. One pipeline serves the tests of this
// block; each marks its own events (CallbackArgs) so the receiver can answer them differently.

const TOKEN = 'status-token-for-tests-0123';

describe('outcome webhooks (live ingress + worker + receiver)', () => {
  let receiver: WebhookReceiver;
  let p: Pipeline;
  const tries = new Map<string, number>();

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    receiver.answer = (w) => {
      const n = (tries.get(w.id) ?? 0) + 1;
      tries.set(w.id, n);
      const args = String(w.payload.data.callbackArgs ?? '');
      if (args === 'flaky' && n <= 3) return { status: 503, headers: { 'retry-after': '1' }, body: 'busy' };
      if (args === 'reject') return { status: 400, body: '{"error":"unknown space"}' };
      return { status: 200 };
    };
    p = await startPipeline({
      label: 'hooks',
      ingressEnv: { STATUS_API_TOKEN: TOKEN, CALLBACK_AUTH: 'none' },
      workerEnv: { ...webhookEnv(receiver), REUPLOAD_BACKOFF_MS: '100' },
    });
  });

  afterAll(async () => {
    await p?.stop();
    await receiver?.close();
  });

  const scrapeWorker = async () => parsePromText(await (await fetch(p.workerMetricsUrl)).text());

  it('1. delivers every final outcome of a realistic mix, verified, once per webhook-id', async () => {
    const started = Date.now();
    const sent = await sendRealisticMix(p.ingressUrl);
    const outcomes = await waitFor(
      'every final outcome recorded',
      async () => {
        const o = await finalOutcomes(p);
        return o.length >= sent.finalOutcomes ? o : undefined;
      },
      30_000,
      200,
    );
    expect(outcomes).toHaveLength(sent.finalOutcomes);
    await waitFor('every outcome delivered', () => receiver.delivered().size >= outcomes.length, 30_000, 100);
    const allDeliveredMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 500)); // nothing more may come
    const verdict = deliveryVerdict(receiver, outcomes);
    reportWebhooks('1-realistic-mix', { ...verdict, allDeliveredMs, unverified: receiver.unverified.length });
    expect(verdict.missing).toEqual([]);
    expect(verdict.repeated).toEqual([]);
    expect(verdict.unknown).toEqual([]);
    expect(receiver.unverified).toEqual([]);
    const types = new Set([...receiver.delivered().values()].map((c) => c[0]!.payload.type));
    expect([...types].sort()).toEqual([
      'vod.upload.dead_lettered',
      'vod.upload.failed_permanent',
      'vod.upload.succeeded',
    ]);
    // The id names the outcome: the RequestId's dedupe key, so a receiver can drop repeats.
    const success = sent.successes[0]!;
    const copy = receiver.delivered().get(webhookIdOf(success.RequestId))?.[0];
    expect(copy?.payload).toMatchObject({
      type: 'vod.upload.succeeded',
      data: { requestId: success.RequestId, jobId: success.Data.JobId, vid: success.Data.Vid, attempt: 1 },
    });
    expect(typeof copy?.payload.data.attempt).toBe('number');
  });

  it('2. retries a receiver answering 503 three times (honouring Retry-After), then delivers once', async () => {
    const retriedBefore =
      sampleValue(await scrapeWorker(), 'vod_webhook_deliveries_total', { result: 'retried' }) ?? 0;
    const event = uploadEvent('Success');
    event.Data.CallbackArgs = 'flaky';
    expect(await postCallback(p.ingressUrl, event)).toBe(200);
    const id = webhookIdOf(event.RequestId);
    await waitFor('delivered after three 503s', () => receiver.delivered().has(id), 20_000, 50);
    const attempts = receiver.received.filter((w) => w.id === id);
    expect(attempts.map((a) => a.status)).toEqual([503, 503, 503, 200]);
    const gaps = attempts.slice(1).map((a, i) => a.receivedAt - attempts[i]!.receivedAt);
    // Retry-After: 1 beats the 100 ms base delay.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(950);
    const metrics = await scrapeWorker();
    const retried =
      (sampleValue(metrics, 'vod_webhook_deliveries_total', { result: 'retried' }) ?? 0) - retriedBefore;
    expect(retried).toBe(3);
    expect(sampleValue(metrics, 'vod_webhook_delivery_seconds_count')).toBeGreaterThanOrEqual(4);
    reportWebhooks('2-503-three-times', {
      attempts: attempts.length,
      gapsMs: gaps,
      retriedInMetrics: retried,
    });
  });

  it('4. dead-letters a 400 (webhook_rejected); vodctl replays it after the receiver is fixed', async () => {
    const event = uploadEvent('DownloadFailed.UrlDownloadFail', '404');
    event.Data.CallbackArgs = 'reject';
    expect(await postCallback(p.ingressUrl, event)).toBe(200);
    const id = webhookIdOf(event.RequestId);
    const env = { REDIS_URL: p.redisUrl, QUEUE_PREFIX: p.prefix };
    // vodctl in-process for the looks, the built binary for the replay.
    const vodctl = async (...args: string[]) => {
      const out: string[] = [];
      const code = await runCli(args, COMMANDS, {
        env,
        io: { out: (l) => out.push(l), err: (l) => out.push(l) },
      });
      return { code, out: out.join('\n') };
    };
    const vodctlBin = async (...args: string[]) => {
      const proc = await startApp('cli', env, undefined, args);
      const { code } = await proc.exited;
      return { code, out: proc.output() };
    };
    const listed = await waitFor(
      'the dead letter',
      async () => {
        const r = await vodctl('webhooks', 'list', '--json');
        return r.out.includes(id) ? r : undefined;
      },
      15_000,
      100,
    );
    const line = JSON.parse(
      listed.out
        .trim()
        .split('\n')
        .find((l) => l.includes(id))!,
    );
    expect(line).toMatchObject({
      reason: 'webhook_rejected',
      webhookId: id,
      type: 'vod.upload.failed_permanent',
    });
    expect(line.detail).toContain('HTTP 400: {"error":"unknown space"}');
    expect(receiver.received.filter((w) => w.id === id).map((w) => w.status)).toEqual([400]);
    const shown = await vodctl('webhooks', 'show', line.id);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.out).payload.data.requestId).toBe(event.RequestId);
    const metrics = await scrapeWorker();
    expect(sampleValue(metrics, 'vod_webhook_deliveries_total', { result: 'rejected' })).toBe(1);
    expect(sampleValue(metrics, 'vod_dead_letters_total', { reason: 'webhook_rejected' })).toBe(1);

    // The receiver is fixed: the replay delivers the same webhook-id, once.
    tries.clear();
    const before = receiver.answer;
    receiver.answer = () => ({ status: 200 });
    try {
      const replay = await vodctlBin('webhooks', 'replay', line.id);
      expect(replay.code, replay.out).toBe(0);
      await waitFor('the replayed delivery', () => receiver.delivered().has(id), 15_000, 50);
      expect(receiver.delivered().get(id)).toHaveLength(1);
      expect((await vodctl('webhooks', 'list', '--json')).out).not.toContain(id);
    } finally {
      receiver.answer = before;
    }
    reportWebhooks('4-rejected-then-replayed', { firstStatus: 400, replayedDelivered: 1 });
  });

  it('6. a tampered body or an old timestamp fails the receiver’s verification', async () => {
    const genuine = [...receiver.delivered().values()][0]![0]!;
    const verifier = new Webhook(receiver.secret);
    const headers = signWebhook(receiver.secret, genuine.id, genuine.body);
    // Control: the genuine body with fresh headers verifies.
    expect(verifier.verify(genuine.body, headers)).toEqual(genuine.payload);
    const tampered = genuine.body
      .replace(/"decision":"[a-z_]+"/, '"decision":"succeeded"')
      .replace('"attempt":1', '"attempt":2');
    expect(tampered).not.toBe(genuine.body);
    expect(() => verifier.verify(tampered, headers)).toThrow(/No matching signature/);
    const old = signWebhook(receiver.secret, genuine.id, genuine.body, new Date(Date.now() - 10 * 60 * 1000));
    expect(() => verifier.verify(genuine.body, old)).toThrow(/too old/);
    // And the real receiver refuses both over HTTP.
    const unverifiedBefore = receiver.unverified.length;
    for (const [body, h] of [
      [tampered, headers],
      [genuine.body, old],
    ] as const) {
      const res = await fetch(receiver.url, {
        method: 'POST',
        headers: { ...h, 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(401);
    }
    expect(receiver.unverified.slice(unverifiedBefore).map((u) => u.error)).toEqual([
      'No matching signature found',
      'Message timestamp too old',
    ]);
  });

  it('7. status API: 401 without or with a wrong token; lookups by JobId and by source; 404', async () => {
    const event = uploadEvent('Success');
    event.Data.CallbackArgs = 'status=1';
    expect(await postCallback(p.ingressUrl, event)).toBe(200);
    await waitFor('its webhook', () => receiver.delivered().has(webhookIdOf(event.RequestId)), 15_000, 50);
    const get = (path: string, token?: string) =>
      fetch(`${p.ingressUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    for (const token of [undefined, 'wrong-token-for-tests-0123']) {
      const res = await get(`/v1/uploads/${event.Data.JobId}`, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'unauthorized' });
    }
    const byJob = await get(`/v1/uploads/${event.Data.JobId}`, TOKEN);
    expect(byJob.status).toBe(200);
    const state = await byJob.json();
    expect(state).toMatchObject({
      requestId: event.RequestId,
      decision: 'succeeded',
      vid: event.Data.Vid,
      attempt: 1,
    });
    const query = new URLSearchParams({
      spaceName: event.Data.SpaceName,
      sourceUrl: event.Data.SourceUrl,
      callbackArgs: 'status=1',
    });
    const bySource = await get(`/v1/uploads?${query}`, TOKEN);
    expect(bySource.status).toBe(200);
    expect(await bySource.json()).toEqual(state);
    expect((await get('/v1/uploads/no-such-job', TOKEN)).status).toBe(404);
    query.set('callbackArgs', 'other');
    expect((await get(`/v1/uploads?${query}`, TOKEN)).status).toBe(404);
    const doc = await get('/v1/openapi.json', TOKEN);
    expect(doc.status).toBe(200);
    expect(Object.keys((await doc.json()).paths)).toContain('/v1/uploads/{jobId}');
  });
});
