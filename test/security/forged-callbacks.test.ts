import { outcomeFromFields, signCallback } from '@vod-callbacks/shared';
import { deletePrefix, testRedisUrl, waitFor } from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimulatedPipeline, startPipelineWithSimulator } from '../support/pipeline.js';

// A callback anyone can post must not make VOD pull a URL into the customer's account. The ingress
// requires VOD's signature unless told otherwise, and the worker re-uploads only into the spaces
// (and from the URL hosts) it is told about. Built processes, the VOD simulator as the API.
const PRIVATE_KEY = 'forgedKey123';
const ALLOWED_SPACE = 'our-space';

describe('forged callbacks (built ingress, worker and VOD simulator)', () => {
  let redis: Redis;
  let p: SimulatedPipeline;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    p = await startPipelineWithSimulator({
      label: 'forged',
      credentials: { accessKeyId: 'AKLTforged', secretKey: 'forged-secret-key' },
      callbackPrivateKey: PRIVATE_KEY,
      env: { EVICTION_POLICY_CHECK: 'warn' },
      workerEnv: {
        REUPLOAD_BACKOFF_MS: '100',
        REUPLOAD_SPACES: `${ALLOWED_SPACE}, other-of-ours`,
        REUPLOAD_URL_HOSTS: 'media.example.com,*.cdn.example.com',
      },
    });
  });
  afterAll(async () => {
    await p?.stop();
    if (p) await deletePrefix(redis, p.prefix);
    redis.disconnect();
  });

  const event = (requestId: string, spaceName: string, sourceUrl: string) =>
    Buffer.from(
      JSON.stringify({
        RequestId: requestId,
        EventType: 'FileUploadByUrlComplete',
        Data: {
          Code: 'InternalError.UrlUploadError',
          Message: 'internal upload error',
          JobId: `job-${requestId}`,
          SourceUrl: sourceUrl,
          SpaceName: spaceName,
        },
      }),
    );
  const post = (body: Buffer, signed: boolean) => {
    const ts = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signed) {
      headers['x-vod-timestamp'] = ts;
      headers['x-vod-signature'] = signCallback(p.callbackUrl, ts, PRIVATE_KEY, body);
    }
    return fetch(p.callbackUrl, { method: 'POST', headers, body }).then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    });
  };
  const uploadCalls = async () =>
    ((await (await fetch(`${p.simUrl}/sim/stats`)).json()) as { api: { byAction: Record<string, number> } })
      .api.byAction.UploadMediaByUrl ?? 0;
  const outcomeOf = (requestId: string) =>
    waitFor(
      `outcome of ${requestId}`,
      async () => {
        const rows = await redis.xrange(`${p.prefix}:outcomes`, '-', '+');
        const found = rows.map(([, f]) => outcomeFromFields(f)).filter((o) => o.requestId === requestId);
        return found.length > 0 ? found : undefined;
      },
      15_000,
      50,
    );
  const metric = async (url: string, line: RegExp) => {
    const text = await (await fetch(url)).text();
    const found = text.split('\n').find((l) => line.test(l));
    return found === undefined ? undefined : Number(found.split(' ').pop());
  };

  it('an unsigned callback is refused (401) and the ingress reports signature checking on', async () => {
    expect(
      await post(event('forged-unsigned', ALLOWED_SPACE, 'https://media.example.com/a.mp4'), false),
    ).toBe(401);
    expect(await metric(`${p.ingressUrl}/metrics`, /^vod_callback_auth_enabled\{/)).toBe(1);
  });

  it.each([
    ['another space', 'forged-space', 'their-space', 'https://media.example.com/v.mp4'],
    ['a URL host not on the list', 'forged-host', ALLOWED_SPACE, 'https://attacker.example.net/v.mp4'],
  ])(
    'a signed retryable callback naming %s is dead-lettered reupload_not_allowed, never re-uploaded',
    async (_label, requestId, space, url) => {
      const before = await uploadCalls();
      const deadBefore =
        (await metric(p.workerMetricsUrl, /^vod_dead_letters_total\{reason="reupload_not_allowed"/)) ?? 0;
      expect(await post(event(requestId, space, url), true)).toBe(200);
      const records = await outcomeOf(requestId);
      // Longer than the re-upload backoff: a scheduled re-upload would have been called by now.
      await new Promise((r) => setTimeout(r, 1000));
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        decision: 'dead_lettered',
        reason: 'reupload_not_allowed',
        class: 'retryable',
      });
      expect(await uploadCalls()).toBe(before);
      expect(await metric(p.workerMetricsUrl, /^vod_dead_letters_total\{reason="reupload_not_allowed"/)).toBe(
        deadBefore + 1,
      );
    },
  );

  it('control: the same callback for an allowed space and host is re-uploaded', async () => {
    const before = await uploadCalls();
    expect(await post(event('allowed-1', ALLOWED_SPACE, 'https://v1.cdn.example.com/v.mp4'), true)).toBe(200);
    await waitFor('the re-upload', async () => (await uploadCalls()) > before, 15_000, 50);
  });
});
