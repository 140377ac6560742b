import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

/** GET /metrics in Prometheus text format. */
export const metricsRoute: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
};
