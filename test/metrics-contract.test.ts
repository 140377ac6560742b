import { waitFor } from '@vod-callbacks/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIX, MIX_CODES, type Pipeline, sendMix, startPipeline } from './support/pipeline.js';
import { parsePromText, type Sample, sampleValue } from './support/prom-text.js';

// Real traffic through the built ingress and worker, then their real /metrics: the numbers the
// dashboard and alerts are built on must match what happened.

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parsePromText(await res.text());
}

function total(samples: Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
}

describe('metrics contract (live ingress + worker)', () => {
  let p: Pipeline;
  let ingress: Sample[];
  let worker: Sample[];

  beforeAll(async () => {
    p = await startPipeline({
      label: 'metrics',
      // Completed jobs removed at once, so a redelivery reaches the worker and is counted duplicate.
      ingressEnv: { EVENT_JOB_KEEP_COMPLETED: '0' },
      workerEnv: { EVENT_JOB_KEEP_COMPLETED: '0', REUPLOAD_BACKOFF_MS: '600000' },
    });
    await sendMix(p, async () => total(await scrape(p.workerMetricsUrl), 'vod_events_processed_total'));
    // Queue gauges are cached for 2 s at scrape time: scrape until they show the mix's end state.
    const settledGauges = (url: string) =>
      waitFor(
        `queue gauges of ${url} after the mix`,
        async () => {
          const samples = await scrape(url);
          const jobs = (queue: string, state: string) =>
            sampleValue(samples, 'vod_queue_jobs', { queue, state });
          // Every gauge the assertions read, so a snapshot cached mid-mix (an event still active) is
          // not taken for the end state.
          const done =
            jobs('vod-dead-letters', 'waiting') === MIX.unknown + MIX.invalidPayload &&
            jobs('vod-reuploads', 'delayed') === MIX.retryable &&
            jobs('vod-events', 'waiting') === 0 &&
            jobs('vod-events', 'active') === 0;
          return done ? samples : undefined;
        },
        10_000,
        200,
      );
    ingress = await settledGauges(`${p.ingressUrl}/metrics`);
    worker = await settledGauges(p.workerMetricsUrl);
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('ingress counts callbacks by result and times every answer', () => {
    const accepted =
      MIX.success + MIX.retryable + MIX.permanent + MIX.unknown + MIX.invalidPayload + MIX.duplicates;
    const received = (result: string) => sampleValue(ingress, 'vod_callbacks_received_total', { result });
    expect(received('accepted')).toBe(accepted);
    expect(received('invalid')).toBe(MIX.malformed);
    expect(received('unsupported_media_type')).toBe(MIX.wrongType);
    // Pre-created at 0 so rate() and alerts see the first one.
    expect(received('unavailable')).toBe(0);
    // Unsigned pipeline: no signature matched either key, and both series exist (key rotation panel).
    for (const key of ['current', 'previous'])
      expect(sampleValue(ingress, 'vod_callback_signature_key_total', { key }), key).toBe(0);
    expect(received('error')).toBe(0);
    expect(sampleValue(ingress, 'vod_callback_ack_seconds_count')).toBe(
      accepted + MIX.malformed + MIX.wrongType,
    );
    expect(sampleValue(ingress, 'vod_callback_ack_seconds_bucket', { le: '+Inf' })).toBe(
      accepted + MIX.malformed + MIX.wrongType,
    );
  });

  it('worker counts processed events by class and bounded code', () => {
    const processed = (cls: string, code: string) =>
      sampleValue(worker, 'vod_events_processed_total', { class: cls, code });
    expect(processed('success', 'Success')).toBe(MIX.success);
    expect(processed('retryable', MIX_CODES.retryable)).toBe(MIX.retryable);
    expect(processed('permanent', MIX_CODES.permanent)).toBe(MIX.permanent);
    // A code outside the catalogue is labelled "other", never itself.
    expect(processed('unknown', 'other')).toBe(MIX.unknown);
    expect(processed('invalid', 'other')).toBe(MIX.invalidPayload);
    expect(processed('duplicate', 'Success')).toBe(MIX.duplicates);
    expect(worker.some((s) => s.labels.code === MIX_CODES.unknown)).toBe(false);
  });

  it('ingress reports whether it checks callback signatures (the pipeline runs CALLBACK_AUTH=none)', () => {
    expect(sampleValue(ingress, 'vod_callback_auth_enabled')).toBe(0);
  });

  it('worker counts re-uploads, dead letters by reason, and event lag', () => {
    expect(sampleValue(worker, 'vod_reuploads_scheduled_total')).toBe(MIX.retryable);
    expect(sampleValue(worker, 'vod_retries_exhausted_total')).toBe(0);
    const dead = (reason: string) => sampleValue(worker, 'vod_dead_letters_total', { reason });
    expect(dead('unknown_code')).toBe(MIX.unknown);
    expect(dead('invalid_payload')).toBe(MIX.invalidPayload);
    for (const reason of [
      'unsupported_event',
      'no_credentials',
      'reupload_rejected',
      'reupload_not_allowed',
      'processing_error',
    ])
      expect(dead(reason), reason).toBe(0);
    for (const result of ['accepted', 'retried', 'rejected', 'no_credentials'])
      expect(sampleValue(worker, 'vod_reupload_requests_total', { result }), result).toBeDefined();
    for (const result of ['success', 'failed', 'running', 'not_found', 'error'])
      expect(sampleValue(worker, 'vod_reconciled_uploads_total', { result }), result).toBe(0);
    // Lag is observed for every classified event (success, retryable, permanent), in seconds.
    expect(sampleValue(worker, 'vod_event_lag_seconds_count')).toBe(
      MIX.success + MIX.retryable + MIX.permanent,
    );
    expect(sampleValue(worker, 'vod_event_lag_seconds_bucket', { le: '60' })).toBe(
      MIX.success + MIX.retryable + MIX.permanent,
    );
    expect(sampleValue(worker, 'vod_event_processing_seconds_count')).toBeGreaterThanOrEqual(
      MIX.success + MIX.retryable + MIX.permanent + MIX.unknown + MIX.invalidPayload + MIX.duplicates,
    );
  });

  it('both processes report the same queue gauges, read from Redis', () => {
    for (const samples of [ingress, worker]) {
      const jobs = (queue: string, state: string) => sampleValue(samples, 'vod_queue_jobs', { queue, state });
      expect(jobs('vod-reuploads', 'delayed')).toBe(MIX.retryable);
      expect(jobs('vod-dead-letters', 'waiting')).toBe(MIX.unknown + MIX.invalidPayload);
      expect(jobs('vod-events', 'waiting')).toBe(0);
      expect(jobs('vod-events', 'active')).toBe(0);
      // Nothing consumes dead letters: the oldest one has been waiting since the mix was sent.
      expect(
        sampleValue(samples, 'vod_queue_oldest_waiting_seconds', { queue: 'vod-dead-letters' }),
      ).toBeGreaterThan(0);
      expect(sampleValue(samples, 'vod_queue_oldest_waiting_seconds', { queue: 'vod-events' })).toBe(0);
      for (const queue of ['vod-events', 'vod-reuploads', 'vod-dead-letters'])
        expect(sampleValue(samples, 'vod_queue_paused', { queue }), queue).toBe(0);
    }
  });

  it('both processes expose default process metrics with their service label', () => {
    for (const [samples, service] of [
      [ingress, 'ingress'],
      [worker, 'worker'],
    ] as const) {
      const cpu = samples.find((s) => s.name === 'process_cpu_seconds_total');
      expect(cpu?.labels.service).toBe(service);
      expect(cpu!.value).toBeGreaterThan(0);
      expect(sampleValue(samples, 'process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
      expect(sampleValue(samples, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    }
  });
});
