import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What the worker's tiny HTTP server reports. */
export interface MetricsServerOptions {
  registry: Registry;
  host: string;
  port: number;
  /** True while Redis answers and the workers run. */
  isReady: () => Promise<boolean>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const PATHS = new Set(['/metrics', '/healthz', '/readyz']);

/** Errors in the ingress's format: `{"error":"<code>","message":"…"}`. */
function sendError(res: ServerResponse, status: number, error: string, message: string): void {
  const headers: Record<string, string> = { 'content-type': JSON_TYPE };
  if (status === 405) headers.allow = 'GET, HEAD';
  res.writeHead(status, headers);
  res.end(JSON.stringify({ error, message }));
}

/** GET (and HEAD) /metrics, /healthz and /readyz for the worker (it has no other HTTP surface). */
export async function startMetricsServer(
  opts: MetricsServerOptions,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!PATHS.has(path)) return sendError(res, 404, 'not_found', 'No such route.');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendError(res, 405, 'method_not_allowed', 'Method not allowed.');
    // HEAD: the same status and headers, no body (Node drops it).
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/metrics') {
      opts.registry
        .metrics()
        .then((text) => send(200, opts.registry.contentType, text))
        .catch((err: Error) => sendError(res, 500, 'internal', `metrics collection failed: ${err.message}`));
      return;
    }
    if (path === '/healthz') return send(200, JSON_TYPE, '{"status":"ok"}');
    opts
      .isReady()
      .catch(() => false)
      .then((ok) => send(ok ? 200 : 503, JSON_TYPE, ok ? '{"status":"ready"}' : '{"status":"not_ready"}'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
