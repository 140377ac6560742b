import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EVENTS_QUEUE, embeddedEventText, readStoredJobData } from '@vod-callbacks/shared';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngressHarness, type IngressHarness } from '../../../test/helpers/ingress-harness.js';

const KEY = 'Abcd1234Efgh';
const URL_AS_CONFIGURED = 'https://callbacks.example.com/callbacks/vod';
const seed = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/seed-success.json', import.meta.url), 'utf8'),
);
// Pretty-printed on purpose: the signature covers the raw bytes, not a re-serialisation.
const body = (id: string) => Buffer.from(JSON.stringify({ ...seed, RequestId: id }, null, 2));
const now = () => Math.floor(Date.now() / 1000);

interface Signed {
  ts?: string | undefined;
  sig?: string | undefined;
}
// Signed the way VOD does, written out here from SPEC's formula rather than through the code under
// test: md5_hex(CallbackURL|X-VOD-TIMESTAMP|PrivateKey|base64(raw body bytes)).
const signed = (raw: Buffer, ts = now(), key = KEY, url = URL_AS_CONFIGURED): Signed => ({
  ts: String(ts),
  sig: createHash('md5')
    .update(`${url}|${ts}|${key}|${raw.toString('base64')}`)
    .digest('hex'),
});

// VOD's callback signature with real signed requests against the real ingress (app.inject, real Redis).
describe('callback signatures (CALLBACK_PRIVATE_KEY set)', () => {
  const prefix = uniquePrefix('sig');
  let h: IngressHarness;

  beforeAll(async () => {
    h = await createIngressHarness({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      CALLBACK_PRIVATE_KEY: KEY,
      CALLBACK_PUBLIC_URL: URL_AS_CONFIGURED,
      CALLBACK_MAX_AGE_SECONDS: '300',
    });
  });
  afterAll(async () => {
    await deletePrefix(h.redis, prefix);
    await h.close();
  });

  const post = (raw: Buffer, s: Signed) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (s.ts !== undefined) headers['x-vod-timestamp'] = s.ts;
    if (s.sig !== undefined) headers['x-vod-signature'] = s.sig;
    return h.app.inject({ method: 'POST', url: '/callbacks/vod', headers, payload: raw });
  };
  const stored = async (id: string) => (await h.enqueuer.queues[0]!.getJob(`evt-${id}`)) !== undefined;

  it('accepts a correctly signed callback (upper-case hex too) and stores the exact bytes', async () => {
    const raw = body('sig-ok');
    const res = await post(raw, signed(raw));
    expect(res.statusCode).toBe(200);
    const data = await readStoredJobData(h.redis, prefix, EVENTS_QUEUE, 'evt-sig-ok');
    expect(data === null ? undefined : embeddedEventText(data)).toBe(raw.toString('utf8'));
    const raw2 = body('sig-upper');
    const s = signed(raw2);
    expect((await post(raw2, { ts: s.ts, sig: s.sig?.toUpperCase() })).statusCode).toBe(200);
  });

  const refusals: [string, () => { raw: Buffer; s: Signed }, string][] = [
    [
      'tampered body (one byte changed after signing)',
      () => {
        const raw = body('sig-tampered');
        const s = signed(raw);
        return { raw: Buffer.from(raw.toString().replace('"Success"', '"Suczess"')), s };
      },
      'signature_mismatch',
    ],
    [
      're-serialised body (same JSON, different bytes)',
      () => {
        const raw = body('sig-reser');
        return { raw: Buffer.from(JSON.stringify(JSON.parse(raw.toString()))), s: signed(raw) };
      },
      'signature_mismatch',
    ],
    [
      'wrong private key',
      () => ({ raw: body('sig-key'), s: signed(body('sig-key'), now(), 'Wrong1234Key') }),
      'signature_mismatch',
    ],
    [
      'signed for another callback URL',
      () => ({
        raw: body('sig-url'),
        s: signed(body('sig-url'), now(), KEY, 'https://evil.example.com/callbacks/vod'),
      }),
      'signature_mismatch',
    ],
    [
      'replayed old timestamp (301 s)',
      () => ({ raw: body('sig-old'), s: signed(body('sig-old'), now() - 301) }),
      'signature_stale',
    ],
    [
      'replay from yesterday',
      () => ({ raw: body('sig-day'), s: signed(body('sig-day'), now() - 86_400) }),
      'signature_stale',
    ],
    [
      'future timestamp (301 s ahead)',
      () => ({ raw: body('sig-future'), s: signed(body('sig-future'), now() + 301) }),
      'signature_stale',
    ],
    ['both headers missing', () => ({ raw: body('sig-none'), s: {} }), 'signature_missing'],
    [
      'timestamp missing',
      () => ({ raw: body('sig-nots'), s: { sig: signed(body('sig-nots')).sig } }),
      'signature_missing',
    ],
    ['signature missing', () => ({ raw: body('sig-nosig'), s: { ts: String(now()) } }), 'signature_missing'],
    [
      'signature not hex',
      () => ({ raw: body('sig-hex'), s: { ts: String(now()), sig: 'z'.repeat(32) } }),
      'signature_mismatch',
    ],
    [
      'signature too short',
      () => ({ raw: body('sig-short'), s: { ts: String(now()), sig: 'ab'.repeat(8) } }),
      'signature_mismatch',
    ],
    [
      'timestamp not a number',
      () => ({ raw: body('sig-tsnan'), s: { ts: 'yesterday', sig: 'ab'.repeat(16) } }),
      'signature_mismatch',
    ],
    [
      'unsigned garbage is refused before it is parsed',
      () => ({ raw: Buffer.from('{not json'), s: {} }),
      'signature_missing',
    ],
  ];

  it.each(refusals)('401 for %s, nothing stored', async (_name, make, error) => {
    const { raw, s } = make();
    const before = await h.received('unauthorized');
    const res = await post(raw, s);
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ error, message: expect.any(String) });
    expect(await h.received('unauthorized')).toBe(before + 1);
    const id = /"RequestId": "([^"]+)"/.exec(raw.toString())?.[1];
    if (id) expect(await stored(id)).toBe(false);
  });

  it('a timestamp just inside the window is accepted (clock skew tolerated both ways)', async () => {
    const a = body('sig-edge-past');
    const b = body('sig-edge-future');
    expect((await post(a, signed(a, now() - 290))).statusCode).toBe(200);
    expect((await post(b, signed(b, now() + 290))).statusCode).toBe(200);
  });

  it('counts every refusal as unauthorized in /metrics', async () => {
    const text = (await h.app.inject({ url: '/metrics' })).body;
    expect(text).toMatch(
      new RegExp(`vod_callbacks_received_total\\{result="unauthorized"[^}]*\\} ${refusals.length}\\b`),
    );
  });
});
