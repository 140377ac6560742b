import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  codeLabel,
  createIngressMetrics,
  createQueueMetrics,
  createRegistry,
  createWorkerMetrics,
  initWorkerLabels,
  OTHER_CODE,
  type QueueSnapshot,
} from './metrics.js';
import { DEAD_LETTER_REASONS } from './queues.js';
import { CodeClassifier } from './retry-policy.js';

const snap = (waiting: number, paused = false): QueueSnapshot[] => [
  {
    queue: 'vod-events',
    shard: '0',
    counts: { waiting, active: 1 },
    oldestWaitingSeconds: waiting ? 12 : 0,
    paused,
  },
];

describe('queue gauges', () => {
  it('read Redis once per cache interval however many scrapes come', async () => {
    const registry = new Registry();
    let calls = 0;
    createQueueMetrics(registry, async () => snap(++calls), 200);
    const texts = await Promise.all([registry.metrics(), registry.metrics(), registry.metrics()]);
    await registry.metrics();
    expect(calls).toBe(1);
    expect(texts[0]).toContain('vod_queue_jobs{queue="vod-events",shard="0",state="waiting"} 1');
    expect(texts[0]).toContain('vod_queue_oldest_waiting_seconds{queue="vod-events",shard="0"} 12');
    expect(texts[0]).toContain('vod_queue_paused{queue="vod-events",shard="0"} 0');
    await new Promise((r) => setTimeout(r, 250));
    const later = await registry.metrics();
    expect(calls).toBe(2);
    expect(later).toContain('vod_queue_jobs{queue="vod-events",shard="0",state="waiting"} 2');
  });

  it('tell a paused queue apart (its jobs stay in waiting)', async () => {
    const registry = new Registry();
    createQueueMetrics(registry, async () => snap(7, true));
    const text = await registry.metrics();
    expect(text).toContain('vod_queue_jobs{queue="vod-events",shard="0",state="waiting"} 7');
    expect(text).toContain('vod_queue_paused{queue="vod-events",shard="0"} 1');
  });

  it('show no values when Redis fails, and do not cache the failure', async () => {
    const registry = new Registry();
    let calls = 0;
    createQueueMetrics(
      registry,
      async () => {
        calls++;
        if (calls === 1) throw new Error('redis down');
        return snap(5);
      },
      10_000,
    );
    const failed = await registry.metrics();
    expect(failed).not.toMatch(/^vod_queue_jobs\{/m);
    expect(failed).not.toMatch(/^vod_queue_oldest_waiting_seconds\{/m);
    expect(failed).not.toMatch(/^vod_queue_paused\{/m);
    // Within the cache interval, yet Redis is asked again because the last read failed.
    const ok = await registry.metrics();
    expect(calls).toBe(2);
    expect(ok).toContain('vod_queue_jobs{queue="vod-events",shard="0",state="waiting"} 5');
  });
});

describe('bounded labels', () => {
  it('maps codes outside the catalogue (or absurdly long) to other, prefix-only codes to their prefix', () => {
    const catalogue = new CodeClassifier();
    const label = (code: string) => codeLabel(code, (c) => catalogue.catalogueLabel(c));
    expect(label('Success')).toBe('Success');
    expect(label('InternalError.UrlUploadError')).toBe('InternalError.UrlUploadError');
    expect(label('DownloadFailed.UrlDownloadFail')).toBe('DownloadFailed.UrlDownloadFail');
    expect(label('InternalError.Foo')).toBe('InternalError.*');
    expect(label('InvalidParameter.Z1')).toBe('InvalidParameter.*');
    expect(label('Evil"{label}')).toBe(OTHER_CODE);
    expect(label(`InternalError.${'x'.repeat(100)}`)).toBe('InternalError.*');
    const long = new CodeClassifier({
      exact: { ['A'.repeat(100)]: 'permanent' },
      prefixes: {},
      messageRules: {},
    });
    expect(codeLabel('A'.repeat(100), (c) => long.catalogueLabel(c))).toBe(OTHER_CODE);
  });

  it('pre-creates every dead-letter reason, re-upload and reconcile result, and ingress result at 0', async () => {
    const registry = createRegistry('worker');
    initWorkerLabels(createWorkerMetrics(registry));
    const text = await registry.metrics();
    for (const reason of DEAD_LETTER_REASONS)
      expect(text).toContain(`vod_dead_letters_total{reason="${reason}",service="worker"} 0`);
    for (const result of ['accepted', 'retried', 'rejected', 'no_credentials'])
      expect(text).toContain(`vod_reupload_requests_total{result="${result}",service="worker"} 0`);
    for (const result of ['success', 'failed', 'running', 'not_found', 'error'])
      expect(text).toContain(`vod_reconciled_uploads_total{result="${result}",service="worker"} 0`);
    expect(text).toContain('process_cpu_user_seconds_total{service="worker"}');

    const ingress = createRegistry('ingress');
    createIngressMetrics(ingress);
    const itext = await ingress.metrics();
    for (const result of ['accepted', 'invalid', 'unavailable', 'error', 'rate_limited'])
      expect(itext).toContain(`vod_callbacks_received_total{result="${result}",service="ingress"} 0`);
  });
});
