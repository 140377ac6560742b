import { createServer, type Server } from 'node:http';
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

/** GET /metrics, /healthz and /readyz for the worker (it has no other HTTP surface). */
export async function startMetricsServer(
  opts: MetricsServerOptions,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'application/json', '{"error":"method_not_allowed"}');
    if (path === '/metrics') {
      opts.registry
        .metrics()
        .then((text) => send(200, opts.registry.contentType, text))
        .catch((err: Error) => send(500, 'text/plain', `metrics collection failed: ${err.message}`));
      return;
    }
    if (path === '/healthz') return send(200, 'application/json', '{"status":"ok"}');
    if (path === '/readyz') {
      opts
        .isReady()
        .catch(() => false)
        .then((ok) =>
          send(ok ? 200 : 503, 'application/json', ok ? '{"status":"ready"}' : '{"status":"not_ready"}'),
        );
      return;
    }
    send(404, 'application/json', '{"error":"not_found"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
