// Diagnostic variant: our ingress app with an enqueue that stores nothing and resolves at once.
// Its CPU per request is the floor of the HTTP side of POST /callbacks/vod (Fastify, checks,
// metrics, reply); (c) minus this is what storing the event costs. Never a baseline for targets.
import { buildIngressApp } from '../../apps/ingress/dist/app.js';
import { loadIngressConfig } from '../../apps/ingress/dist/config.js';
import { createIngressMetrics, createRegistry } from '../../packages/shared/dist/index.js';

const config = loadIngressConfig({ CALLBACK_AUTH: 'none', ...process.env, INGRESS_HOST: '127.0.0.1' });
const registry = createRegistry('ingress');
const enqueuer = { enqueue: async () => {}, close: async () => {} };
const redis = { status: 'ready', ping: async () => 'PONG' };
const { app } = await buildIngressApp({
  config,
  enqueuer,
  redis,
  registry,
  metrics: createIngressMetrics(registry),
});
await app.listen({ host: '127.0.0.1', port: config.INGRESS_PORT });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
