// Baseline worker for the end-to-end bench: what a do-it-yourself BullMQ worker for these callbacks
// looks like. It does the same job as ours in the plain way — dedupe check, attempt lookup, a
// delayed re-upload job for retryable codes, outcome record + processed marker in one MULTI — one
// awaited command at a time, with the same worker options and retention.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

const prefix = process.env.QUEUE_PREFIX ?? 'vod';
const connection = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const reuploads = new Queue('vod-reuploads', { connection, prefix });

function classify(code, message) {
  if (code === 'Success') return 'success';
  if (code.startsWith('InternalError') || code.startsWith('UploadFailed')) return 'retryable';
  if (code.startsWith('DownloadFailed'))
    return /\b5\d\d\b|timeout/i.test(message) ? 'retryable' : 'permanent';
  return 'permanent';
}

const worker = new Worker(
  'vod-events',
  async (job) => {
    const e = job.data;
    const processedKey = `${prefix}:processed:${e.RequestId}`;
    if (await connection.exists(processedKey)) return 'duplicate';
    const cls = classify(e.Data.Code, e.Data.Message ?? '');
    const known = await connection.get(`${prefix}:upload-job:${e.Data.JobId}`);
    const attempt = known ? JSON.parse(known).attempt : 1;
    if (cls === 'retryable' && attempt < 3) {
      await reuploads.add(
        'reupload',
        { sourceUrl: e.Data.SourceUrl, spaceName: e.Data.SpaceName, attempt: attempt + 1 },
        { jobId: `ru-${e.RequestId}`, delay: 30_000, attempts: 8 },
      );
    }
    await connection
      .multi()
      .xadd(
        `${prefix}:outcomes`,
        'MAXLEN',
        '~',
        '1000000',
        '*',
        'requestId',
        e.RequestId,
        'jobId',
        e.Data.JobId,
        'code',
        e.Data.Code,
        'class',
        cls,
        'attempt',
        String(attempt),
        'processedAt',
        new Date().toISOString(),
      )
      .set(processedKey, String(Date.now()), 'EX', 7 * 24 * 3600)
      .exec();
    return cls;
  },
  {
    connection,
    prefix,
    concurrency: Number(process.env.WORKER_CONCURRENCY ?? 10),
    lockDuration: 30_000,
    maxStalledCount: 5,
    removeOnComplete: { count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
  },
);
await worker.waitUntilReady();
process.stdout.write('naive worker ready\n');
process.on('SIGTERM', () => worker.close().then(() => process.exit(0)));
