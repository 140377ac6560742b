import { readFileSync } from 'node:fs';
import { deletePrefix, testRedisUrl, uniquePrefix, waitFor } from '@vod-callbacks/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { createIngressHarness, type IngressHarness } from '../../../test/helpers/ingress-harness.js';

const seed = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/seed-success.json', import.meta.url), 'utf8'),
);
const body = (requestId: string) => JSON.stringify({ ...seed, RequestId: requestId });

describe('rate limit and load shedding of POST /callbacks/vod (real Redis)', () => {
  let h: IngressHarness | undefined;
  let prefix: string;

  const build = async (env: Record<string, string>) => {
    prefix = uniquePrefix('prot');
    h = await createIngressHarness({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, ...env });
    return h;
  };
  afterEach(async () => {
    if (!h) return;
    await deletePrefix(h.redis, prefix);
    await h.close();
    h = undefined;
  });

  const post = (app: IngressHarness['app'], id: string, remoteAddress = '127.0.0.11') =>
    app.inject({
      method: 'POST',
      url: '/callbacks/vod',
      headers: { 'content-type': 'application/json' },
      payload: body(id),
      remoteAddress,
    });

  it('is off by default: 50 callbacks from one address are all stored', async () => {
    const { app } = await build({});
    for (let i = 0; i < 50; i++) expect((await post(app, `free-${i}`)).statusCode).toBe(200);
  });

  it('RATE_LIMIT_PER_MINUTE: the next callback from that address gets 429 JSON, counted; others pass', async () => {
    const harness = await build({ RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_ALLOW_LIST: '127.0.0.19' });
    const { app } = harness;
    for (let i = 0; i < 3; i++) expect((await post(app, `rl-${i}`)).statusCode).toBe(200);
    const limited = await post(app, 'rl-3');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({
      error: 'rate_limited',
      message: 'Too many requests from this address.',
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(await harness.received('rate_limited')).toBe(1);
    // Not stored: a 429 is a failed delivery that VOD retries.
    expect(await harness.enqueuer.queues[0]!.getJob('evt-rl-3')).toBeUndefined();
    // Another address and an allow-listed one are not affected; health and metrics are never limited.
    expect((await post(app, 'rl-other', '127.0.0.12')).statusCode).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await post(app, `rl-allowed-${i}`, '127.0.0.19')).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) {
      expect((await app.inject({ url: '/healthz', remoteAddress: '127.0.0.11' })).statusCode).toBe(200);
      expect((await app.inject({ url: '/metrics', remoteAddress: '127.0.0.11' })).statusCode).toBe(200);
    }
  });

  it('load shedding: over the heap threshold callbacks get 503 + Retry-After (JSON, counted), /readyz unaffected', async () => {
    const harness = await build({ LOAD_SHED_MAX_HEAP_BYTES: '1', RETRY_AFTER_SECONDS: '7' });
    const { app } = harness;
    // under-pressure samples memory once a second.
    const shed = await waitFor(
      'load shedding',
      async () => {
        const res = await post(app, `shed-${Date.now()}`);
        return res.statusCode === 503 ? res : undefined;
      },
      5000,
      200,
    );
    expect(shed.json()).toEqual({ error: 'overloaded', message: 'Server overloaded; retry later.' });
    expect(shed.headers['retry-after']).toBe('7');
    expect(await harness.received('unavailable')).toBeGreaterThanOrEqual(1);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});
