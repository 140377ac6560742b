import { testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProcessorHarness, type ProcessorHarness } from '../../../../test/helpers/processor-harness.js';

// README promises label values from closed lists. A code known only by its prefix is a sender's (or
// VOD's) invention: each distinct one must not become a series of its own.
describe('vod_events_processed_total{code}: bounded whatever codes senders invent', () => {
  let h: ProcessorHarness;

  beforeEach(() => {
    h = createProcessorHarness(testRedisUrl(), uniquePrefix('labels'));
  });
  afterEach(() => h.close());

  /** Stores and processes a callback of `code`, its RequestId, JobId and URL named by `n`. */
  const processCode = async (n: string, code: string) => {
    const json = JSON.stringify({
      RequestId: `labels-${n}`,
      EventType: 'FileUploadByUrlComplete',
      Data: {
        Code: code,
        JobId: `job-${n}`,
        SourceUrl: `https://media.example.test/${n}.mp4`,
        SpaceName: 's',
      },
    });
    await h.processStored(await h.storeAsIngress(json));
  };
  const processedSeries = async () =>
    (await h.registry.getSingleMetric('vod_events_processed_total')?.get())?.values ?? [];

  it('2,000 distinct prefix-only codes yield one series per prefix', async () => {
    const prefixes = ['InvalidParameter.', 'CheckError.', 'OperationDenied.', 'InternalError.'];
    for (let i = 0; i < 2000; i++) {
      await processCode(String(i), `${prefixes[i % prefixes.length]}Z${i}`);
    }
    const series = await processedSeries();
    const codes = new Set(series.map((v) => String(v.labels.code)));
    expect([...codes].sort()).toEqual([
      'CheckError.*',
      'InternalError.*',
      'InvalidParameter.*',
      'OperationDenied.*',
    ]);
    expect(series.reduce((n, v) => n + v.value, 0)).toBe(2000);
  }, 120_000);

  it('catalogue codes keep their own label; codes outside the catalogue are "other"', async () => {
    for (const [i, code] of ['InternalError.UrlUploadError', 'Mystery.Code', 'Success'].entries())
      await processCode(`c${i}`, code);
    expect(new Set((await processedSeries()).map((v) => String(v.labels.code)))).toEqual(
      new Set(['InternalError.UrlUploadError', 'other', 'Success']),
    );
  });
});
