import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signCallback } from '@vod-callbacks/shared';
import {
  type AppProcess,
  deletePrefix,
  freePort,
  startApp,
  startWebhookReceiver,
  testRedisUrl,
  uniquePrefix,
  type WebhookReceiver,
  waitFor,
} from '@vod-callbacks/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const token = () => randomBytes(6).toString('hex');

// Secrets: distinctive values so any leak into the output is found verbatim.
const CALLBACK_PRIVATE_KEY = `Pk${token()}`.slice(0, 20);
const CALLBACK_PRIVATE_KEY_PREVIOUS = `Pp${token()}`.slice(0, 20);
const ADMIN_PASSWORD = `admin-pw-${token()}`;
const VOLC_SECRETKEY = `volc-sk-${token()}`;
const VOLC_ACCESSKEY = `AKLT${token()}`;
const BODY_MARKER = `body-marker-${token()}`;
// A re-upload default header secret, referenced by variable name from REUPLOAD_DEFAULTS_FILE.
const ORIGIN_TOKEN = `origin-token-${token()}`;
const DEFAULTS_FILE = join(mkdtempSync(join(tmpdir(), 'sec-defaults-')), 'reupload-defaults.json');
writeFileSync(
  DEFAULTS_FILE,
  JSON.stringify({ '*': { CustomURLHeaders: { 'X-Origin-Token': { env: 'SEC_ORIGIN_TOKEN' } } } }),
);
const PUBLIC_URL = 'https://cb.example.com/callbacks/vod';
const STATUS_API_TOKEN = `status-token-${token()}`;
const HOOK_URL_TOKEN = `hook-url-token-${token()}`;

// Real processes at LOG_LEVEL=info, their whole stdout+stderr captured: no secret and no body
// content may appear, whatever the requests (good, unsigned, refused, dead-lettered, admin logins).
describe('secrets and bodies never reach the logs at info level (built processes)', () => {
  const prefix = uniquePrefix('sec');
  let redis: Redis;
  let ingress: AppProcess;
  let worker: AppProcess;
  let base: string;
  let receiver: WebhookReceiver;
  const outputs: string[] = [];

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    // Outcome webhooks to a receiver that rejects some and is busy for others (error and retry lines).
    receiver = await startWebhookReceiver();
    receiver.answer = (w) =>
      w.payload.type === 'vod.upload.dead_lettered'
        ? { status: 400 }
        : { status: w.payload.type.endsWith('permanent') ? 503 : 200 };
    const [port, metricsPort, deadPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      EVICTION_POLICY_CHECK: 'warn',
      CALLBACK_PRIVATE_KEY,
      CALLBACK_PRIVATE_KEY_PREVIOUS,
      CALLBACK_PUBLIC_URL: PUBLIC_URL,
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD,
      VOLC_ACCESSKEY,
      VOLC_SECRETKEY,
      REUPLOAD_DEFAULTS_FILE: DEFAULTS_FILE,
      SEC_ORIGIN_TOKEN: ORIGIN_TOKEN,
      REUPLOAD_SPACES: 'sec-space',
      // Nothing here schedules a re-upload, but never point a test at the real VOD.
      VOD_API_HOST: `127.0.0.1:${deadPort}`,
      VOD_API_PROTOCOL: 'http:',
      STATUS_API_TOKEN,
      OUTCOME_WEBHOOK_URL: `${receiver.url}?token=${HOOK_URL_TOKEN}`,
      OUTCOME_WEBHOOK_SECRET: receiver.secret,
      OUTCOME_WEBHOOK_ALLOW_PRIVATE: 'true',
      OUTCOME_WEBHOOK_BACKOFF_MS: '100',
    };
    worker = await startApp(
      'worker',
      { ...env, WORKER_METRICS_PORT: String(metricsPort) },
      /worker consuming/,
    );
    ingress = await startApp(
      'ingress',
      { ...env, INGRESS_PORT: String(port), INGRESS_HOST: '127.0.0.1' },
      /ingress listening/,
    );
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await Promise.all([ingress?.kill('SIGTERM'), worker?.kill('SIGTERM')]);
    await receiver?.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  // biome-ignore lint/suspicious/noExplicitAny: the fixture is mutated freely
  const event = (id: string, change: (e: Record<string, any>) => void = () => {}) => {
    const e = fixture('seed-success.json');
    e.RequestId = id;
    e.Data.CallbackArgs = BODY_MARKER;
    e.Data.Message = BODY_MARKER;
    e.Data.SourceInfo.FileName = BODY_MARKER;
    change(e);
    return Buffer.from(JSON.stringify(e));
  };
  const send = (raw: Buffer, sign = true) => {
    const ts = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (sign) {
      headers['x-vod-timestamp'] = ts;
      headers['x-vod-signature'] = signCallback(PUBLIC_URL, ts, CALLBACK_PRIVATE_KEY, raw);
    }
    return fetch(`${base}/callbacks/vod`, { method: 'POST', headers, body: raw });
  };

  it('runs good, refused and dead-lettered traffic, then finds nothing secret in the output', async () => {
    expect((await send(event('sec-ok'))).status).toBe(200);
    expect((await send(event('sec-failed', (e) => (e.Data.Code = 'CheckError.Md5MissMatch')))).status).toBe(
      200,
    );
    expect((await send(event('sec-unknown', (e) => (e.Data.Code = 'Mystery.Code')))).status).toBe(200);
    expect((await send(event('sec-invalid', (e) => (e.Data.JobId = 42)))).status).toBe(200);
    expect((await send(event('sec-unsigned'), false)).status).toBe(401);
    expect((await send(Buffer.from(`{"RequestId":"x","Note":"${BODY_MARKER}"`))).status).toBe(400);
    const auth = (pw: string) => ({ authorization: `Basic ${Buffer.from(`ops:${pw}`).toString('base64')}` });
    expect((await fetch(`${base}/admin/queues`, { headers: auth('wrong-password') })).status).toBe(401);
    expect((await fetch(`${base}/admin/queues`, { headers: auth(ADMIN_PASSWORD) })).status).toBe(200);
    await waitFor('four outcomes', async () => (await redis.xlen(`${prefix}:outcomes`)) >= 4);
    const status = (t: string) =>
      fetch(`${base}/v1/uploads/some-job`, { headers: { authorization: `Bearer ${t}` } });
    expect((await status('wrong-token-0123456789')).status).toBe(401);
    expect((await status(STATUS_API_TOKEN)).status).toBe(404);
    await waitFor(
      'webhooks rejected and retried',
      () =>
        receiver.received.some((w) => w.status === 400) && receiver.received.some((w) => w.status === 503),
    );

    await Promise.all([ingress.kill('SIGTERM'), worker.kill('SIGTERM')]);
    outputs.push(ingress.output(), worker.output());
    const all = outputs.join('\n');
    // The capture works: it holds the start lines and the per-event lines (successes log at debug).
    expect(all).toMatch(/ingress listening/);
    expect(all).toMatch(/"requestId":"sec-failed".*event processed/);
    expect(all).toMatch(/"requestId":"sec-unknown".*dead-lettered/);
    expect(all).toMatch(/webhook failed; will retry/);
    expect(all).toMatch(/webhook dead-lettered/);
    for (const secret of [
      CALLBACK_PRIVATE_KEY,
      CALLBACK_PRIVATE_KEY_PREVIOUS,
      ADMIN_PASSWORD,
      VOLC_SECRETKEY,
      BODY_MARKER,
      ORIGIN_TOKEN,
      STATUS_API_TOKEN,
      HOOK_URL_TOKEN,
      receiver.secret.slice('whsec_'.length),
    ]) {
      expect(all, `found ${secret} in the output`).not.toContain(secret);
    }
    expect(all).not.toContain(Buffer.from(`ops:${ADMIN_PASSWORD}`).toString('base64'));
  });

  it('a bad secret setting stops the process (78) without echoing the value', async () => {
    const badKey = 'not a valid key!';
    const a = await startApp(
      'ingress',
      {
        REDIS_URL: testRedisUrl(),
        CALLBACK_PRIVATE_KEY: badKey,
        CALLBACK_PUBLIC_URL: PUBLIC_URL,
      },
      undefined,
    );
    expect((await a.exited).code).toBe(78);
    expect(a.output()).toMatch(/CALLBACK_PRIVATE_KEY/);
    expect(a.output()).not.toContain(badKey);

    const b = await startApp(
      'ingress',
      { REDIS_URL: testRedisUrl(), CALLBACK_AUTH: 'none', ADMIN_PASSWORD },
      undefined,
    );
    expect((await b.exited).code).toBe(78);
    expect(b.output()).toMatch(/ADMIN_USER and ADMIN_PASSWORD/);
    expect(b.output()).not.toContain(ADMIN_PASSWORD);
  });
});
