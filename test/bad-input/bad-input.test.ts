import { DEAD_LETTERS_QUEUE, eventJobId, stableHash } from '@vod-callbacks/shared';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngressHarness, type IngressHarness } from '../helpers/ingress-harness.js';
import { createProcessorHarness, type ProcessorHarness } from '../helpers/processor-harness.js';
import { corpus } from './corpus.js';

const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();

// Every hostile request against the real ingress (app.inject, real Redis); every one that gets
// past the ingress is then processed from Redis by the real event processor.
describe('bad-input corpus: ingress answer or worker outcome, exactly', () => {
  const prefix = uniquePrefix('corpus');
  let ingress: IngressHarness;
  let worker: ProcessorHarness;
  const before = prototypeKeys();
  const cases = corpus();

  beforeAll(async () => {
    ingress = await createIngressHarness({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix });
    worker = createProcessorHarness(testRedisUrl(), prefix);
  });
  afterAll(async () => {
    await deletePrefix(ingress.redis, prefix);
    await ingress.close();
    await worker.close();
  });

  it('has at least 40 distinct cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const headers: Record<string, string> = { ...c.headers };
    if (c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json';
    const waitingBefore = await worker.events.count();
    const res = await ingress.app.inject({
      method: c.method ?? 'POST',
      url: '/callbacks/vod',
      headers,
      ...(c.method === 'GET' ? {} : { payload: c.body }),
    });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const answer = res.json();
    if (c.expected.status !== 200) {
      expect({ status: res.statusCode, error: answer.error }).toEqual(c.expected);
      expect(Object.keys(answer).sort()).toEqual(['error', 'message']);
      expect(res.body).not.toMatch(/\bat .*\.(js|ts):\d+/); // no stack traces
      expect(await worker.events.count()).toBe(waitingBefore); // nothing stored
      return;
    }
    expect(res.statusCode).toBe(200);
    expect(answer.ok).toBe(true);
    const requestId: string = answer.requestId;
    const result = await worker.processStored(eventJobId(requestId));
    expect({ decision: result.decision, reason: result.reason }).toEqual({
      decision: c.expected.decision,
      reason: c.expected.reason,
    });
    if (c.expected.reason) {
      const dl = await worker.redis.hgetall(`${prefix}:${DEAD_LETTERS_QUEUE}:dl-${stableHash(requestId)}`);
      const data = JSON.parse(dl.data ?? '{}');
      expect(data).toMatchObject({ reason: c.expected.reason, requestId });
      // The dead letter keeps the body exactly as received, for a person and for replay.
      expect(data.body).toBe(Buffer.isBuffer(c.body) ? c.body.toString('utf8') : c.body);
    }
    // Exactly one outcome for this RequestId.
    const outcomes = (await worker.outcomes()).filter((o) => o.requestId === requestId);
    expect(outcomes).toHaveLength(1);
  });

  it('left no trace on Object.prototype', () => {
    expect(prototypeKeys()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).RequestId).toBeUndefined();
  });
});
