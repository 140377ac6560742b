// Baseline (b): what wiring Fastify to BullMQ yourself looks like — parse the JSON, `await queue.add`
// per request with the RequestId as job id (so redeliveries collapse), answer 200. Same job options
// as the real ingress, so the difference measured is the enqueue path, not the retention policy.
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const connection = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const queue = new Queue('vod-events', {
  connection,
  prefix: process.env.QUEUE_PREFIX ?? 'vod',
  defaultJobOptions: {
    attempts: 10,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
  },
});

const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
app.post('/callbacks/vod', async (request) => {
  const event = request.body;
  await queue.add('callback', event, { jobId: `evt-${event.RequestId}` });
  return { ok: true, requestId: event.RequestId };
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
process.on('SIGTERM', () =>
  app
    .close()
    .then(() => queue.close())
    .then(() => process.exit(0)),
);
