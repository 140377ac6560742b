import {
  DEAD_LETTERS_QUEUE,
  DECISIONS,
  type DeadLetterJobData,
  eventJobDataJson,
  eventJobId,
  isUsableRequestId,
} from '@vod-callbacks/shared';
import { testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { Queue } from 'bullmq';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessorHarness, type ProcessorHarness } from '../../../../test/helpers/processor-harness.js';
import { processEvent } from './event-processor.js';

/** A valid FileUploadByUrlComplete callback (every field the schema knows). */
const valid = (requestId: string) => ({
  RequestId: requestId,
  Version: '2022-01-01',
  EventType: 'FileUploadByUrlComplete',
  EventTime: '2024-05-06T09:49:33Z',
  Data: {
    Code: 'Success',
    Message: '',
    JobId: `job-${requestId}`,
    SourceUrl: 'https://example.com/a.mp4',
    CallbackArgs: 'args',
    Vid: 'v1',
    SpaceName: 'space',
    PosterUri: 'poster',
    SourceInfo: { StoreUri: 's', Height: 1, Width: 2, Duration: 3, Md5: 'm', Size: 4, FileType: 'video' },
    OptionInfo: { TemplateId: 't', Templates: [{ TemplateIds: ['a'], TemplateType: 'x' }] },
  },
});

/** Every field path of `valid`, as key lists (the root's fields, Data's fields, and deeper ones). */
const PATHS: string[][] = [
  ['Version'],
  ['EventType'],
  ['EventTime'],
  ['Data'],
  ...Object.keys(valid('x').Data).map((k) => ['Data', k]),
  ['Data', 'SourceInfo', 'Width'],
  ['Data', 'SourceInfo', 'Md5'],
  ['Data', 'OptionInfo', 'Templates'],
  ['Data', 'OptionInfo', 'Templates', '0', 'TemplateIds'],
];

/** Values of any JSON type, including ones that break naive string handling. */
const hostile = fc.oneof(
  fc.constantFrom<unknown>(
    { toString: 1 },
    { toString: 'x', valueOf: 1 },
    { length: -1 },
    [],
    [1, 'a'],
    {},
    null,
    0,
    -1.5,
    true,
    '',
    'attempt',
    { slice: 1 },
  ),
  fc.jsonValue({ maxDepth: 3 }),
);

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object') return;
    node = next as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

describe('event processor: any value of any JSON type in any field (fast-check, real Redis)', () => {
  let h: ProcessorHarness;
  let n = 0;
  beforeAll(() => {
    h = createProcessorHarness(testRedisUrl(), uniquePrefix('input'));
  });
  afterAll(() => h.close());

  it('ends at once in exactly one outcome (never a throw); an invalid one is dead-lettered with an outcome', async () => {
    const changes = fc.array(fc.tuple(fc.constantFrom(...PATHS), hostile), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(
        changes,
        fc.oneof(fc.constant('ok'), fc.string({ unit: 'binary' })),
        async (cs, rid) => {
          const requestId = `${rid}-${n++}`;
          const event = valid(requestId) as unknown as Record<string, unknown>;
          for (const [path, value] of cs) setPath(event, path, structuredClone(value));
          const result = await processEvent(
            { id: `evt-${n}`, data: { body: JSON.stringify(event), receivedAt: 0 } },
            h.deps,
          );
          expect([...DECISIONS, 'ignored']).toContain(result.decision);
          const mine = (await h.outcomes()).filter((o) => o.requestId === result.requestId);
          if (result.decision !== 'ignored') expect(mine).toHaveLength(1);
          if (result.reason === 'invalid_payload') {
            expect(mine[0]).toMatchObject({ decision: 'dead_lettered', reason: 'invalid_payload' });
          }
          // The RequestId is the sender's when it is usable, whatever else is wrong.
          if (isUsableRequestId(requestId)) expect(result.requestId).toBe(requestId);
        },
      ),
      { numRuns: 400 },
    );
  }, 300_000);

  it('"Code": {"toString": 1} is dead-lettered invalid_payload with an outcome carrying the RequestId', async () => {
    const event = valid('rid-tostring') as unknown as { Data: Record<string, unknown> };
    event.Data.Code = { toString: 1 };
    const result = await processEvent(
      { id: 'evt-tostring', data: { body: JSON.stringify(event), receivedAt: 0 } },
      h.deps,
    );
    expect(result).toMatchObject({
      decision: 'dead_lettered',
      reason: 'invalid_payload',
      requestId: 'rid-tostring',
    });
    const [o] = (await h.outcomes()).filter((x) => x.requestId === 'rid-tostring');
    expect(o).toMatchObject({
      decision: 'dead_lettered',
      reason: 'invalid_payload',
      jobId: 'job-rid-tostring',
    });
  });
});

describe('event processor: other event types are unsupported, not invalid (issue 10 item 3)', () => {
  let h: ProcessorHarness;
  beforeAll(() => {
    h = createProcessorHarness(testRedisUrl(), uniquePrefix('types'));
  });
  afterAll(() => h.close());

  // A FileUploadComplete callback (the upload SDK's event): no SourceUrl, no JobId; nothing of
  // FileUploadByUrlComplete's schema but the envelope.
  const fileUploadComplete = (requestId: string) => ({
    RequestId: requestId,
    EventType: 'FileUploadComplete',
    EventTime: '2024-05-06T09:49:33Z',
    Data: { Code: 0, Vid: 'v9', SpaceName: 'space', SourceInfo: null },
  });

  it('dead-letters an event of another type as unsupported_event, with an outcome', async () => {
    const result = await processEvent(
      { id: 'evt-fuc', data: { body: JSON.stringify(fileUploadComplete('rid-fuc')), receivedAt: 0 } },
      h.deps,
    );
    expect(result).toMatchObject({
      decision: 'dead_lettered',
      reason: 'unsupported_event',
      requestId: 'rid-fuc',
    });
    const dlq = new Queue<DeadLetterJobData>(DEAD_LETTERS_QUEUE, { connection: h.redis, prefix: h.prefix });
    expect((await dlq.getWaiting()).map((j) => j.data.reason)).toEqual(['unsupported_event']);
    await dlq.close();
    expect((await h.outcomes()).map((o) => [o.requestId, o.reason])).toEqual([
      ['rid-fuc', 'unsupported_event'],
    ]);
  });

  it('ignores it with UNSUPPORTED_EVENT_ACTION=ignore (no dead letter, no outcome)', async () => {
    const result = await processEvent(
      { id: 'evt-fuc2', data: { body: JSON.stringify(fileUploadComplete('rid-fuc2')), receivedAt: 0 } },
      { ...h.deps, unsupportedAction: 'ignore' },
    );
    expect(result.decision).toBe('ignored');
    expect((await h.outcomes()).filter((o) => o.requestId === 'rid-fuc2')).toEqual([]);
  });

  it('still calls an envelope without a usable EventType invalid_payload', async () => {
    const event = { ...fileUploadComplete('rid-no-type'), EventType: 7 };
    const result = await processEvent(
      { id: eventJobId('rid-no-type'), data: JSON.parse(eventJobDataJson(JSON.stringify(event), 0)) },
      h.deps,
    );
    expect(result).toMatchObject({
      decision: 'dead_lettered',
      reason: 'invalid_payload',
      requestId: 'rid-no-type',
    });
    expect((await h.outcomes()).filter((o) => o.requestId === 'rid-no-type').map((o) => o.reason)).toEqual([
      'invalid_payload',
    ]);
  });
});
