// Baseline (a): the HTTP ceiling. Fastify with its default JSON parser, answering 204, storing nothing.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/callbacks/vod', (_request, reply) => reply.code(204).send());
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
