import { stringify } from 'node:querystring';
import { VodApiClient, VodApiError } from '@vod-callbacks/vod-client';
import { Signer } from '@volcengine/openapi';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSimulatorApp, type SimulatorApp } from './app.js';
import { loadSimulatorConfig } from './config.js';
import {
  type SignatureCredentials,
  type SignedRequest,
  verifyOpenApiSignature,
} from './openapi-signature.js';

const creds: SignatureCredentials = {
  accessKeyId: 'AKLTtest',
  secretKey: 'test-secret',
  region: 'cn-north-1',
  service: 'vod',
  maxSkewSeconds: 900,
};

/** Signs a request exactly as the SDK's Service.fetchOpenAPI does, and returns what the server sees. */
function sdkSigned(
  params: Record<string, string>,
  opts: {
    method?: 'GET' | 'POST';
    json?: unknown;
    secretKey?: string;
    accessKeyId?: string;
    date?: Date;
    region?: string;
  } = {},
): SignedRequest {
  const method = opts.method ?? 'GET';
  const init: Record<string, unknown> = {
    pathname: '/',
    method,
    region: opts.region ?? 'cn-north-1',
    params: { ...params, Version: '2020-08-01' },
    headers: opts.json !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {},
  };
  if (opts.json !== undefined) init.body = opts.json;
  const signer = new Signer(init as never, 'vod');
  signer.addAuthorization(
    { accessKeyId: opts.accessKeyId ?? creds.accessKeyId, secretKey: opts.secretKey ?? creds.secretKey },
    opts.date,
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(init.headers as Record<string, string>))
    headers[k.toLowerCase()] = String(v);
  return {
    method,
    rawUrl: `/?${stringify(init.params as Record<string, string>)}`,
    headers,
    body: opts.json !== undefined ? Buffer.from(JSON.stringify(opts.json)) : Buffer.alloc(0),
  };
}

const uploadParams = {
  Action: 'UploadMediaByUrl',
  SpaceName: 'space-1',
  URLSets: JSON.stringify([
    { SourceUrl: "https://a.example/x y.mp4?vodsim=fail,ok&q=(1)*!'~", CallbackArgs: '{"item":"é+ü/1"}' },
  ]),
};

describe('verifyOpenApiSignature against the official SDK signer', () => {
  it('accepts a GET signed by the SDK, with characters that need escaping', () => {
    expect(verifyOpenApiSignature(sdkSigned(uploadParams), creds)).toBeUndefined();
  });

  it('accepts a POST with a JSON body (X-Content-Sha256) and refuses the body tampered', () => {
    const req = sdkSigned({ Action: 'QueryUploadTaskInfo' }, { method: 'POST', json: { JobIds: 'a,b' } });
    expect(verifyOpenApiSignature(req, creds)).toBeUndefined();
    const tampered = { ...req, body: Buffer.from(JSON.stringify({ JobIds: 'a,c' })) };
    expect(verifyOpenApiSignature(tampered, creds)?.code).toBe('SignatureDoesNotMatch');
  });

  it('refuses a changed query parameter', () => {
    const req = sdkSigned(uploadParams);
    const changed = { ...req, rawUrl: req.rawUrl.replace('space-1', 'space-2') };
    expect(verifyOpenApiSignature(changed, creds)).toMatchObject({
      code: 'SignatureDoesNotMatch',
      status: 401,
    });
  });

  it('refuses a wrong SecretKey, an unknown AccessKeyId, another region', () => {
    expect(verifyOpenApiSignature(sdkSigned(uploadParams, { secretKey: 'nope' }), creds)?.code).toBe(
      'SignatureDoesNotMatch',
    );
    expect(verifyOpenApiSignature(sdkSigned(uploadParams, { accessKeyId: 'AKLTother' }), creds)?.code).toBe(
      'InvalidClientTokenId',
    );
    expect(verifyOpenApiSignature(sdkSigned(uploadParams, { region: 'ap-singapore-1' }), creds)?.code).toBe(
      'SignatureDoesNotMatch',
    );
  });

  it('refuses a stale X-Date, a missing and a malformed Authorization', () => {
    const old = sdkSigned(uploadParams, { date: new Date(Date.now() - 3600_000) });
    expect(verifyOpenApiSignature(old, creds)?.code).toBe('InvalidTimestamp');
    const req = sdkSigned(uploadParams);
    const { authorization: _, ...noAuth } = req.headers;
    expect(verifyOpenApiSignature({ ...req, headers: noAuth }, creds)?.code).toBe(
      'MissingAuthenticationToken',
    );
    expect(
      verifyOpenApiSignature({ ...req, headers: { ...req.headers, authorization: 'Bearer x' } }, creds)?.code,
    ).toBe('InvalidAuthorization');
  });
});

describe('the simulator over HTTP, driven by the SDK (VodApiClient)', () => {
  let sim: SimulatorApp;
  let host: string;
  beforeAll(async () => {
    const config = loadSimulatorConfig({
      SIM_PORT: '0',
      SIM_ACCESS_KEY_ID: creds.accessKeyId,
      SIM_SECRET_KEY: creds.secretKey,
      SIM_PROCESSING_MS: '20',
      SIM_QPS: '5',
      LOG_LEVEL: 'silent',
    });
    sim = buildSimulatorApp(config, pino({ level: 'silent' }));
    const address = await sim.app.listen({ host: '127.0.0.1', port: 0 });
    host = new URL(address).host;
  });
  afterAll(async () => {
    await sim.app.close();
  });
  const client = (secretKey = creds.secretKey) =>
    new VodApiClient({
      accessKeyId: creds.accessKeyId,
      secretKey,
      region: 'cn-north-1',
      host,
      protocol: 'http:',
    });

  it('uploads, then answers task info with states, Vid and NotExistJobIds', async () => {
    const data = await client().uploadMediaByUrl('space-1', [
      { SourceUrl: 'https://a.example/ok.mp4', CallbackArgs: 'item-1' },
      { SourceUrl: 'https://a.example/bad.mp4?vodsim=fail' },
    ]);
    expect(data.map((d) => d.SourceUrl)).toEqual([
      'https://a.example/ok.mp4',
      'https://a.example/bad.mp4?vodsim=fail',
    ]);
    await new Promise((r) => setTimeout(r, 60));
    const q = await client().queryUploadTaskInfo([data[0]!.JobId, data[1]!.JobId, 'missing']);
    expect(q.notFound).toEqual(['missing']);
    const byId = new Map(q.infos.map((i) => [i.JobId, i]));
    expect(byId.get(data[0]!.JobId)).toMatchObject({ State: 'success', SpaceName: 'space-1' });
    expect(byId.get(data[0]!.JobId)?.Vid).toMatch(/^v0d/);
    expect(byId.get(data[1]!.JobId)).toMatchObject({ State: 'failed', Vid: '' });
  });

  it('answers a wrong key with SignatureDoesNotMatch (rejected, not retried)', async () => {
    const err = await client('wrong')
      .uploadMediaByUrl('s', [{ SourceUrl: 'https://a.example/1' }])
      .catch((e) => e);
    expect(err).toBeInstanceOf(VodApiError);
    expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', kind: 'rejected' });
  });

  it('throttles over its QPS quota with FlowLimitExceeded (retryable)', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        client()
          .queryUploadTaskInfo(['x'])
          .then(
            () => 'ok',
            (e: VodApiError) => e.code,
          ),
      ),
    );
    expect(results.filter((r) => r === 'ok').length).toBeLessThanOrEqual(6);
    expect(results).toContain('FlowLimitExceeded');
    expect(new VodApiError('FlowLimitExceeded', '', 'x').kind).toBe('retryable');
  });
});
