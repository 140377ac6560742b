import type { OutcomeRecord } from '@vod-callbacks/shared';
import { deletePrefix, freePort, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIngressHarness, type IngressHarness } from '../../../test/helpers/ingress-harness.js';
import { OutcomeStore } from '../../worker/src/outcome-store.js';
import { STATUS_API_PATHS } from './plugins/status-api.js';
import type { STATUS_OPENAPI } from './status-openapi.js';

const TOKEN = 'status-token-0123456789';

type Schema = {
  type?: string;
  enum?: readonly string[];
  required?: readonly string[];
  properties?: Record<string, Schema>;
  $ref?: string;
};

/** Checks a body against a schema of the served document (types, enums, required fields). */
function conforms(body: unknown, schema: Schema, doc: typeof STATUS_OPENAPI): string[] {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '') as keyof typeof doc.components.schemas;
    return conforms(body, doc.components.schemas[name] as Schema, doc);
  }
  const problems: string[] = [];
  if (schema.type === 'object') {
    if (typeof body !== 'object' || body === null) return ['not an object'];
    const obj = body as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in obj)) problems.push(`missing ${k}`);
    for (const [k, v] of Object.entries(obj)) {
      const prop = schema.properties?.[k];
      if (!prop) problems.push(`undocumented property ${k}`);
      else problems.push(...conforms(v, prop, doc).map((p) => `${k}: ${p}`));
    }
  } else if (schema.type === 'string' && typeof body !== 'string') problems.push('not a string');
  else if (schema.type === 'integer' && !Number.isInteger(body)) problems.push('not an integer');
  if (schema.enum && !schema.enum.includes(body as string)) problems.push(`${String(body)} not in enum`);
  return problems;
}

describe('status API (ingress against real Redis)', () => {
  let prefix: string;
  let h: IngressHarness;
  let store: OutcomeStore;

  const record = (over: Partial<OutcomeRecord>): OutcomeRecord => ({
    requestId: 'req-1',
    jobId: 'job-1',
    spaceName: 'space-a',
    sourceUrl: 'https://media.example.test/a.mp4',
    callbackArgs: 'order=7',
    vid: 'v0abc',
    code: 'Success',
    class: 'success',
    decision: 'succeeded',
    attempt: 1,
    eventTime: '2026-01-01T00:00:00Z',
    processedAt: '2026-01-01T00:00:01.000Z',
    ...over,
  });

  beforeEach(async () => {
    prefix = uniquePrefix('status');
    h = await createIngressHarness({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      STATUS_API_TOKEN: TOKEN,
    });
    store = new OutcomeStore(h.redis, {
      prefix,
      dedupeTtlSeconds: 3600,
      outcomesMaxLen: 1000,
      sourceStateTtlSeconds: 3600,
    });
    await store.record('req-1', record({}));
  });

  afterEach(async () => {
    await deletePrefix(h.redis, prefix);
    await h.close();
  });

  const get = (url: string, token: string | null = TOKEN) =>
    h.app.inject({
      method: 'GET',
      url,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });

  it('answers 401 without a token, with a wrong one, and with a prefix of the right one', async () => {
    for (const token of [null, 'wrong-token-0123456789', TOKEN.slice(0, -1), '']) {
      for (const url of ['/v1/uploads/job-1', '/v1/uploads?spaceName=a&sourceUrl=b', '/v1/openapi.json']) {
        const res = await get(url, token);
        expect(res.statusCode, `${url} ${token}`).toBe(401);
        expect(res.json()).toEqual({ error: 'unauthorized', message: expect.any(String) });
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    }
    const basic = await h.app.inject({
      method: 'GET',
      url: '/v1/uploads/job-1',
      headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    });
    expect(basic.statusCode).toBe(401);
  });

  it('looks an upload up by JobId and by source; 404 when unknown; 400 without the source', async () => {
    const byJob = await get('/v1/uploads/job-1');
    expect(byJob.statusCode).toBe(200);
    expect(byJob.json()).toMatchObject({
      requestId: 'req-1',
      decision: 'succeeded',
      vid: 'v0abc',
      attempt: 1,
    });
    const q = (s: Record<string, string>) => `/v1/uploads?${new URLSearchParams(s)}`;
    const source = { spaceName: 'space-a', sourceUrl: 'https://media.example.test/a.mp4' };
    for (const url of [q({ ...source, callbackArgs: 'order=7' }), q(source)]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.json()).toEqual(byJob.json());
    }
    for (const url of [
      '/v1/uploads/job-unknown',
      // Long JobIds are looked up too (up to 1,024 characters; Fastify's default stopped at 100).
      `/v1/uploads/${'j'.repeat(1024)}`,
      q({ ...source, callbackArgs: 'order=8' }),
      q({ ...source, spaceName: 'space-b' }),
      q({ ...source, sourceUrl: 'https://media.example.test/b.mp4' }),
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error).toBe('upload_not_found');
    }
    for (const url of ['/v1/uploads?spaceName=space-a', `${q(source)}&spaceName=again`]) {
      expect((await get(url)).statusCode, url).toBe(400);
    }
    // Longer: 414 in the registry's format, without echoing the path.
    const tooLong = await get(`/v1/uploads/${'j'.repeat(1025)}`);
    expect(tooLong.statusCode).toBe(414);
    expect(tooLong.json()).toEqual({
      error: 'url_too_long',
      message: 'A path segment exceeds 1,024 characters.',
    });
  });

  it('serves an OpenAPI document that describes every route and what it answers', async () => {
    const res = await get('/v1/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json() as typeof STATUS_OPENAPI;
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.values(STATUS_API_PATHS).map((p) => p.replace(/:(\w+)/g, '{$1}'));
    expect(Object.keys(doc.paths).sort()).toEqual(routes.sort());

    // Every documented status of the lookups is produced by a real request, and its body fits the schema.
    const whileRedisDown = async (url: string) => {
      const down = await createIngressHarness(
        { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, QUEUE_PREFIX: prefix, STATUS_API_TOKEN: TOKEN },
        undefined,
        false,
      );
      try {
        return await down.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
      } finally {
        await down.close();
      }
    };
    const requests: Record<string, Record<string, () => ReturnType<typeof get>>> = {
      '/v1/uploads/{jobId}': {
        '200': () => get('/v1/uploads/job-1'),
        '401': () => get('/v1/uploads/job-1', 'nope'),
        '404': () => get('/v1/uploads/none'),
        '503': () => whileRedisDown('/v1/uploads/job-1'),
      },
      '/v1/uploads': {
        '200': () => get('/v1/uploads?spaceName=space-a&sourceUrl=https%3A%2F%2Fmedia.example.test%2Fa.mp4'),
        '400': () => get('/v1/uploads?sourceUrl=x'),
        '401': () => get('/v1/uploads?spaceName=a&sourceUrl=b', null),
        '404': () => get('/v1/uploads?spaceName=a&sourceUrl=b'),
        '503': () => whileRedisDown('/v1/uploads?spaceName=a&sourceUrl=b'),
      },
    };
    for (const [path, byStatus] of Object.entries(requests)) {
      const documented = doc.paths[path as keyof typeof doc.paths].get.responses as Record<
        string,
        { content: { 'application/json': { schema: Schema } } }
      >;
      expect(Object.keys(documented).sort(), path).toEqual(Object.keys(byStatus).sort());
      for (const [status, send] of Object.entries(byStatus)) {
        const answer = await send();
        expect(answer.statusCode, `${path} ${status}`).toBe(Number(status));
        const schema = documented[status]!.content['application/json'].schema;
        expect(conforms(answer.json(), schema, doc), `${path} ${status}`).toEqual([]);
      }
    }
    // A dead-lettered, re-uploaded state documents its extra fields too.
    await store.record(
      'req-2',
      record({
        requestId: 'req-2',
        decision: 'dead_lettered',
        reason: 'unknown_code',
        class: 'unknown',
        origin: 'replay',
      }),
    );
    const dead = await get('/v1/uploads/job-1');
    expect(conforms(dead.json(), { $ref: '#/components/schemas/UploadStatus' }, doc)).toEqual([]);
  });

  it('answers 503 with Retry-After while Redis does not answer', async () => {
    const down = await createIngressHarness(
      { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, QUEUE_PREFIX: prefix, STATUS_API_TOKEN: TOKEN },
      undefined,
      false,
    );
    try {
      const res = await down.app.inject({
        method: 'GET',
        url: '/v1/uploads/job-1',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toBe('unavailable');
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await down.close();
    }
  });

  it('is off without STATUS_API_TOKEN', async () => {
    const off = await createIngressHarness({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix });
    try {
      expect((await off.app.inject({ method: 'GET', url: '/v1/uploads/job-1' })).statusCode).toBe(404);
    } finally {
      await off.close();
    }
  });
});
