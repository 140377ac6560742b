import { readFileSync } from 'node:fs';
import { testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProcessorHarness, type ProcessorHarness } from '../../../../test/helpers/processor-harness.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../../test/fixtures/${name}`, import.meta.url), 'utf8'));

// Fields processing does not need may be null (Go's nil slices and structs) or of another type:
// the event is still what its Code says, never an invalid_payload dead letter a replay cannot fix.
describe('event processor: null or mistyped optional fields', () => {
  let h: ProcessorHarness;

  beforeEach(() => {
    h = createProcessorHarness(testRedisUrl(), uniquePrefix('optional'));
  });
  afterEach(() => h.close());

  const withData = (base: Record<string, unknown>, data: Record<string, unknown>, requestId: string) => {
    const b = base as { Data: Record<string, unknown> };
    return JSON.stringify({ ...base, RequestId: requestId, Data: { ...b.Data, ...data } });
  };

  it.each([
    ['OptionInfo.Templates null', { OptionInfo: { TemplateId: '', Templates: null } }],
    ['SourceInfo null', { SourceInfo: null }],
    [
      'SourceInfo.Width "544"',
      { SourceInfo: { ...fixture('seed-success.json').Data.SourceInfo, Width: '544' } },
    ],
    ['PosterUri null', { PosterUri: null }],
  ])('a success with %s is recorded succeeded', async (label, data) => {
    const json = withData(fixture('seed-success.json'), data, `ok-${label.replace(/\W/g, '')}`);
    const result = await h.processStored(await h.storeAsIngress(json));
    expect(result.decision).toBe('succeeded');
    const [outcome] = await h.outcomes();
    expect(outcome).toMatchObject({
      decision: 'succeeded',
      class: 'success',
      vid: fixture('seed-success.json').Data.Vid,
    });
    expect(await h.deadLetters.getJobCounts('waiting')).toMatchObject({ waiting: 0 });
  });

  it('a failure with Vid null is recorded with an empty vid', async () => {
    const json = withData(fixture('seed-failure.json'), { Vid: null }, 'fail-vid-null');
    const result = await h.processStored(await h.storeAsIngress(json));
    expect(result.decision).toBe('failed_permanent');
    const [outcome] = await h.outcomes();
    expect(outcome).toMatchObject({ decision: 'failed_permanent', vid: '' });
  });

  it('a retryable failure with Templates null, Message null and CallbackArgs a number is re-uploaded without them', async () => {
    const json = withData(
      fixture('seed-failure.json'),
      {
        Code: 'InternalError.UrlUploadError',
        Message: null,
        CallbackArgs: 7,
        OptionInfo: { Templates: null },
      },
      'retry-nulls',
    );
    const result = await h.processStored(await h.storeAsIngress(json));
    expect(result.decision).toBe('reupload_scheduled');
    const [outcome] = await h.outcomes();
    expect(outcome).toMatchObject({ decision: 'reupload_scheduled', callbackArgs: '' });
    const [job] = await h.reuploads.getJobs(['delayed', 'waiting']);
    expect(job?.data.source.templates).toBeUndefined();
    expect(job?.data.source.callbackArgs).toBe('');
  });
});
