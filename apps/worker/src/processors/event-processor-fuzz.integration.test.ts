import { testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessorHarness, type ProcessorHarness } from '../../../../test/helpers/processor-harness.js';

const anyJson = fc.jsonValue({ maxDepth: 3 });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, anyJson);
/** Callback-like bodies whose every field may be missing or of the wrong type. */
const payload = fc.record(
  {
    EventType: maybe(fc.constantFrom('FileUploadByUrlComplete', 'FileUploadComplete')),
    EventTime: maybe(fc.constant('2024-05-06T09:49:33Z')),
    Data: maybe(
      fc.record(
        {
          Code: maybe(
            fc.constantFrom('Success', 'DownloadFailed.UrlDownloadFail', 'InternalError.X', 'Nope'),
          ),
          Message: maybe(fc.constantFrom('404 Not Found', '502 Bad Gateway', 'timeout')),
          JobId: maybe(fc.string({ minLength: 1, maxLength: 20 })),
          SourceUrl: maybe(fc.webUrl()),
          CallbackArgs: maybe(fc.string()),
          SpaceName: maybe(fc.string({ minLength: 1, maxLength: 10 })),
          SourceInfo: maybe(fc.dictionary(fc.string(), anyJson)),
          OptionInfo: maybe(fc.dictionary(fc.string(), anyJson)),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

// What the ingress lets through (an object with a usable RequestId), processed by the real
// processor against real Redis: it always ends in exactly one outcome, never an exception.
describe('event processor on arbitrary payloads (fast-check, real Redis)', () => {
  let h: ProcessorHarness;
  let n = 0;
  beforeAll(() => {
    h = createProcessorHarness(testRedisUrl(), uniquePrefix('fuzz'));
  });
  afterAll(() => h.close());

  it('every stored event yields one outcome and a known decision', async () => {
    await fc.assert(
      fc.asyncProperty(payload, async (p) => {
        const requestId = `fuzz-${n++}`;
        const jobId = await h.storeAsIngress(JSON.stringify({ ...p, RequestId: requestId }));
        const result = await h.processStored(jobId);
        expect([
          'succeeded',
          'reupload_scheduled',
          'failed_permanent',
          'retries_exhausted',
          'dead_lettered',
        ]).toContain(result.decision);
        const mine = await h.redis.xrevrange(`${h.prefix}:outcomes`, '+', '-', 'COUNT', 1);
        expect(mine[0]?.[1]).toContain(requestId);
      }),
      { numRuns: 300 },
    );
    expect((await h.outcomes()).length).toBe(n);
  });
});
