import { createHash } from 'node:crypto';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngressHarness, type IngressHarness } from '../../../test/helpers/ingress-harness.js';
import { loadIngressConfig } from './config.js';

const NEW_KEY = 'NewKey2026Dec';
const OLD_KEY = 'OldKey2026Jun';
const URL_AS_CONFIGURED = 'https://callbacks.example.com/callbacks/vod';
const now = () => Math.floor(Date.now() / 1000);
const event = (id: string) =>
  Buffer.from(
    JSON.stringify({
      RequestId: id,
      EventType: 'FileUploadByUrlComplete',
      Data: {
        Code: 'Success',
        JobId: `j-${id}`,
        SourceUrl: 'https://a.example/v.mp4',
        SpaceName: 's',
        Vid: 'v1',
      },
    }),
  );
// VOD's formula written out here, not through the code under test.
const sign = (raw: Buffer, key: string, ts = now()) => ({
  'x-vod-timestamp': String(ts),
  'x-vod-signature': createHash('md5')
    .update(`${URL_AS_CONFIGURED}|${ts}|${key}|${raw.toString('base64')}`)
    .digest('hex'),
});

// Key rotation: VOD applies a new callback key with a delay, so both keys sign callbacks for a while.
describe('callback key rotation (CALLBACK_PRIVATE_KEY_PREVIOUS)', () => {
  const prefix = uniquePrefix('rot');
  let h: IngressHarness;

  beforeAll(async () => {
    h = await createIngressHarness({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      CALLBACK_PRIVATE_KEY: NEW_KEY,
      CALLBACK_PRIVATE_KEY_PREVIOUS: OLD_KEY,
      CALLBACK_PUBLIC_URL: URL_AS_CONFIGURED,
    });
  });
  afterAll(async () => {
    await deletePrefix(h.redis, prefix);
    await h.close();
  });

  const post = (raw: Buffer, headers: Record<string, string>) =>
    h.app.inject({
      method: 'POST',
      url: '/callbacks/vod',
      headers: { 'content-type': 'application/json', ...headers },
      payload: raw,
    });
  const keyCount = async (key: string) => {
    const metric = (await h.registry.getMetricsAsJSON()).find(
      (m) => m.name === 'vod_callback_signature_key_total',
    );
    return metric?.values.find((v) => v.labels.key === key)?.value;
  };

  it('accepts callbacks signed with either key, counts which one matched, refuses any other key', async () => {
    expect(await keyCount('current')).toBe(0);
    expect(await keyCount('previous')).toBe(0);
    const a = event('rot-new');
    expect((await post(a, sign(a, NEW_KEY))).statusCode).toBe(200);
    const b = event('rot-old');
    expect((await post(b, sign(b, OLD_KEY))).statusCode).toBe(200);
    const c = event('rot-other');
    const refused = await post(c, sign(c, 'SomeOtherKey1'));
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ error: 'signature_mismatch' });
    expect(await keyCount('current')).toBe(1);
    expect(await keyCount('previous')).toBe(1);
    expect(await h.enqueuer.queues[0]!.getJob('evt-rot-old')).toBeDefined();
    const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/vod_callback_signature_key_total\{key="previous",service="ingress"\} 1/);
  });

  it('refuses a previous key without a current one, an invalid one, or the same key twice (exit 78)', () => {
    const base = { REDIS_URL: testRedisUrl(), CALLBACK_PUBLIC_URL: URL_AS_CONFIGURED };
    expect(() => loadIngressConfig({ ...base, CALLBACK_PRIVATE_KEY_PREVIOUS: OLD_KEY })).toThrow(
      /CALLBACK_PRIVATE_KEY_PREVIOUS is set without CALLBACK_PRIVATE_KEY/,
    );
    expect(() =>
      loadIngressConfig({ ...base, CALLBACK_PRIVATE_KEY: NEW_KEY, CALLBACK_PRIVATE_KEY_PREVIOUS: 'short!' }),
    ).toThrow(/CALLBACK_PRIVATE_KEY_PREVIOUS=\(hidden\) is invalid/);
    expect(() =>
      loadIngressConfig({ ...base, CALLBACK_PRIVATE_KEY: NEW_KEY, CALLBACK_PRIVATE_KEY_PREVIOUS: NEW_KEY }),
    ).toThrow(/equals CALLBACK_PRIVATE_KEY/);
  });
});
