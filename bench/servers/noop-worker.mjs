// Baseline: a BullMQ Worker on vod-events that does nothing with each job, with the same worker
// options as the real worker (concurrency, lock, stalled checks, retention). Its throughput is the
// ceiling our worker is compared with.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const connection = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const worker = new Worker('vod-events', async () => undefined, {
  connection,
  prefix: process.env.QUEUE_PREFIX ?? 'vod',
  concurrency: Number(process.env.WORKER_CONCURRENCY ?? 10),
  lockDuration: 30_000,
  maxStalledCount: 5,
  removeOnComplete: { count: Number(process.env.EVENT_JOB_KEEP_COMPLETED ?? 1000) },
  removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
});
await worker.waitUntilReady();
process.stdout.write('noop worker ready\n');
process.on('SIGTERM', () => worker.close().then(() => process.exit(0)));
