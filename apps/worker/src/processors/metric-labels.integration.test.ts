import { createRegistry, createWorkerMetrics } from '@vod-callbacks/shared';
import { testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProcessorHarness, type ProcessorHarness } from '../../../../test/helpers/processor-harness.js';

// README promises label values from closed lists. A code known only by its prefix is a sender's (or
// VOD's) invention: each distinct one must not become a series of its own.
describe('vod_events_processed_total{code}: bounded whatever codes senders invent', () => {
  let h: ProcessorHarness;
  let registry: ReturnType<typeof createRegistry>;

  beforeEach(() => {
    h = createProcessorHarness(testRedisUrl(), uniquePrefix('labels'));
    registry = createRegistry('worker');
    h.deps.metrics = createWorkerMetrics(registry);
  });
  afterEach(() => h.close());

  it('2,000 distinct prefix-only codes yield one series per prefix', async () => {
    const prefixes = ['InvalidParameter.', 'CheckError.', 'OperationDenied.', 'InternalError.'];
    for (let i = 0; i < 2000; i++) {
      const code = `${prefixes[i % prefixes.length]}Z${i}`;
      const json = JSON.stringify({
        RequestId: `labels-${i}`,
        EventType: 'FileUploadByUrlComplete',
        Data: {
          Code: code,
          JobId: `job-${i}`,
          SourceUrl: `https://media.example.test/${i}.mp4`,
          SpaceName: 's',
        },
      });
      await h.processStored(await h.storeAsIngress(json));
    }
    const metric = await registry.getSingleMetric('vod_events_processed_total')?.get();
    const codes = new Set(metric?.values.map((v) => String(v.labels.code)));
    expect([...codes].sort()).toEqual([
      'CheckError.*',
      'InternalError.*',
      'InvalidParameter.*',
      'OperationDenied.*',
    ]);
    expect(metric?.values.reduce((n, v) => n + v.value, 0)).toBe(2000);
  }, 120_000);

  it('catalogue codes keep their own label; codes outside the catalogue are "other"', async () => {
    for (const [i, code] of ['InternalError.UrlUploadError', 'Mystery.Code', 'Success'].entries()) {
      const json = JSON.stringify({
        RequestId: `cat-${i}`,
        EventType: 'FileUploadByUrlComplete',
        Data: {
          Code: code,
          JobId: `cjob-${i}`,
          SourceUrl: `https://media.example.test/c${i}.mp4`,
          SpaceName: 's',
        },
      });
      await h.processStored(await h.storeAsIngress(json));
    }
    const metric = await registry.getSingleMetric('vod_events_processed_total')?.get();
    expect(new Set(metric?.values.map((v) => String(v.labels.code)))).toEqual(
      new Set(['InternalError.UrlUploadError', 'other', 'Success']),
    );
  });
});
