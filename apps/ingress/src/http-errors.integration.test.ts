import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@vod-callbacks/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngressHarness, type IngressHarness } from '../../../test/helpers/ingress-harness.js';
import { HTTP_ERRORS } from './errors.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends bytes as they are (inject cannot send a malformed request) and reads the answer until close. */
function rawRequest(port: number, request: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('error', () => {
      // the server may reset after answering; what was read is checked below
    });
    socket.on('close', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
      if (!status) return reject(new Error(`no HTTP answer: ${JSON.stringify(data.slice(0, 200))}`));
      const headers = Object.fromEntries(
        headerLines.map((l) => [
          l.slice(0, l.indexOf(':')).toLowerCase(),
          l.slice(l.indexOf(':') + 1).trim(),
        ]),
      );
      resolve({ status, headers, body: rest.join('\r\n\r\n') });
    });
    socket.write(request);
    setTimeout(() => socket.end(), 2000);
  });
}

const expectRegistryError = (
  res: RawResponse | { body: string; headers: Record<string, unknown> },
  code: string,
) => {
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  expect(JSON.parse(res.body)).toEqual({
    error: code,
    message: HTTP_ERRORS[code as keyof typeof HTTP_ERRORS].message,
  });
};

// Every answer of the ingress, also the ones Node's HTTP parser gives before a route runs, has the
// registry's body {"error":"<code>","message":"…"}.
describe('one error format for every answer', () => {
  let h: IngressHarness;
  let port: number;
  const prefix = uniquePrefix('httperr');

  beforeAll(async () => {
    // Load shedding off: a busy test machine must not turn these answers into 503.
    h = await createIngressHarness({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
    });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await deletePrefix(h.redis, prefix);
    await h.close();
  });

  it('a 20 KB header: 431 headers_too_large', async () => {
    const res = await rawRequest(
      port,
      `POST /callbacks/vod HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20 * 1024)}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
    );
    expect(res.status).toBe(431);
    expectRegistryError(res, 'headers_too_large');
  });

  it('Content-Length: abc: 400 bad_request', async () => {
    const res = await rawRequest(
      port,
      'POST /callbacks/vod HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}',
    );
    expect(res.status).toBe(400);
    expectRegistryError(res, 'bad_request');
  });

  it('Transfer-Encoding with Content-Length: 400 bad_request', async () => {
    const res = await rawRequest(
      port,
      'POST /callbacks/vod HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
    );
    expect(res.status).toBe(400);
    expectRegistryError(res, 'bad_request');
  });

  it.each(['gzip', 'deflate', 'br', 'identity, gzip'])(
    'Content-Encoding: %s: 415 unsupported_content_encoding, counted as unsupported_media_type',
    async (encoding) => {
      const before = await h.received('unsupported_media_type');
      const res = await h.app.inject({
        method: 'POST',
        url: '/callbacks/vod',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        payload: gzipSync(JSON.stringify({ RequestId: 'gz-1' })),
      });
      expect(res.statusCode).toBe(415);
      expectRegistryError({ body: res.body, headers: res.headers }, 'unsupported_content_encoding');
      expect(await h.received('unsupported_media_type')).toBe(before + 1);
    },
  );

  it('Content-Encoding: identity is plain JSON', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/callbacks/vod',
      headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
      payload: JSON.stringify({ RequestId: 'identity-1' }),
    });
    expect(res.statusCode).toBe(200);
  });

  it.each(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const)(
    '%s /callbacks/vod: 405 method_not_allowed with Allow: POST',
    async (method) => {
      const res = await h.app.inject({ method, url: '/callbacks/vod' });
      expect(res.statusCode).toBe(405);
      expect(res.headers.allow).toBe('POST');
      expectRegistryError({ body: res.body, headers: res.headers }, 'method_not_allowed');
    },
  );

  it('HEAD /callbacks/vod: 405 with Allow: POST (no body); POST /healthz: 405 with Allow: GET, HEAD', async () => {
    const head = await h.app.inject({ method: 'HEAD', url: '/callbacks/vod' });
    expect(head.statusCode).toBe(405);
    expect(head.headers.allow).toBe('POST');
    const post = await h.app.inject({ method: 'POST', url: '/healthz' });
    expect(post.statusCode).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expectRegistryError({ body: post.body, headers: post.headers }, 'method_not_allowed');
  });

  it('an unknown path: 404 not_found', async () => {
    const res = await rawRequest(port, 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(404);
    expectRegistryError(res, 'not_found');
  });
  // 404 and 405 are decided before a body is read: whatever body a miss carries, it stays a miss.
  it.each([
    ['DELETE /callbacks/vod, JSON type, empty body', 'DELETE', '/callbacks/vod', '', 405, 'POST'],
    ['PATCH /callbacks/vod, JSON type, empty body', 'PATCH', '/callbacks/vod', '', 405, 'POST'],
    ['OPTIONS /callbacks/vod, JSON type, empty body', 'OPTIONS', '/callbacks/vod', '', 405, 'POST'],
    ['POST /healthz, JSON type, empty body', 'POST', '/healthz', '', 405, 'GET, HEAD'],
    ['PUT /metrics, JSON type, not JSON', 'PUT', '/metrics', '{x}', 405, 'GET, HEAD'],
    ['POST /nope, not JSON', 'POST', '/nope', '{x}', 404, undefined],
    ['POST /nope, over the body limit', 'POST', '/nope', 'x'.repeat(300_000), 404, undefined],
  ] as const)('%s: %i', async (_name, method, url, body, status, allow) => {
    const res = await rawRequest(
      port,
      `${method} ${url} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(res.status).toBe(status);
    expect(res.headers.allow).toBe(allow);
    expectRegistryError(res, status === 404 ? 'not_found' : 'method_not_allowed');
  });

  it.each(['/%', '/%zz', '/callbacks/vod%'])(
    'a URL that does not decode (%s): 400 bad_request',
    async (url) => {
      const res = await rawRequest(port, `POST ${url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(res.status).toBe(400);
      expectRegistryError(res, 'bad_request');
    },
  );

  it('CONNECT: 405 method_not_allowed, answered rather than dropped', async () => {
    const res = await rawRequest(port, 'CONNECT 127.0.0.1:6379 HTTP/1.1\r\nHost: 127.0.0.1:6379\r\n\r\n');
    expect(res.status).toBe(405);
    expectRegistryError(res, 'method_not_allowed');
  });

  it('a callback without a Host header is served like any other', async () => {
    const body = JSON.stringify({ RequestId: 'no-host-1', EventType: 'FileUploadByUrlComplete' });
    const res = await rawRequest(
      port,
      `POST /callbacks/vod HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ok: true, requestId: 'no-host-1' });
  });
});
