import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer } from './metrics-server.js';

describe("the worker's metrics server", () => {
  let base: string;
  let ready = true;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const { server, port } = await startMetricsServer({
      registry: new Registry(),
      host: '127.0.0.1',
      port: 0,
      isReady: async () => ready,
    });
    base = `http://127.0.0.1:${port}`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });
  afterAll(() => close());

  it('serves /metrics, /healthz and /readyz to GET and HEAD', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    ready = false;
    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toEqual({ status: 'not_ready' });
    ready = true;
    expect((await fetch(`${base}/readyz?x=1`)).status).toBe(200);
  });

  it.each([
    ['POST', '/metrics', 405, 'method_not_allowed', 'GET, HEAD'],
    ['DELETE', '/readyz', 405, 'method_not_allowed', 'GET, HEAD'],
    ['GET', '/nope', 404, 'not_found', null],
    ['POST', '/nope', 404, 'not_found', null],
  ] as const)('%s %s: %i %s in the ingress’s error format', async (method, path, status, error, allow) => {
    const res = await fetch(`${base}${path}`, { method });
    expect(res.status).toBe(status);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await res.json();
    expect(body).toEqual({ error, message: expect.any(String) });
    expect(body.message.length).toBeGreaterThan(0);
  });
});
