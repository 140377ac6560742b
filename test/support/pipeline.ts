import { randomBytes } from 'node:crypto';
import {
  type AppProcess,
  freePort,
  startApp,
  testRedisUrl,
  uniquePrefix,
  waitFor,
} from '@vod-callbacks/test-support';

/** A live ingress + worker on their own queue prefix. */
export interface Pipeline {
  prefix: string;
  ingressUrl: string;
  workerMetricsUrl: string;
  ingress: AppProcess;
  worker: AppProcess;
  stop(): Promise<void>;
}

/** Starts the built ingress and worker (`apps/<app>/dist/main.js`) on free ports and a unique prefix. */
export async function startPipeline(
  opts: { ingressEnv?: Record<string, string>; workerEnv?: Record<string, string>; label?: string } = {},
): Promise<Pipeline> {
  const prefix = uniquePrefix(opts.label ?? 'obs');
  const redisUrl = testRedisUrl();
  const ingressPort = await freePort();
  const workerPort = await freePort();
  const common = { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' };
  const ingress = await startApp(
    'ingress',
    {
      ...common,
      LOG_LEVEL: 'info',
      INGRESS_HOST: '127.0.0.1',
      INGRESS_PORT: String(ingressPort),
      // The pipeline's callbacks are unsigned: say so (the ingress refuses to start otherwise).
      CALLBACK_AUTH: 'none',
      ...opts.ingressEnv,
    },
    /ingress listening on/,
  );
  let worker: AppProcess;
  try {
    worker = await startApp(
      'worker',
      {
        ...common,
        LOG_LEVEL: 'info',
        WORKER_METRICS_HOST: '127.0.0.1',
        WORKER_METRICS_PORT: String(workerPort),
        ...opts.workerEnv,
      },
      /worker consuming vod-events/,
    );
  } catch (err) {
    await ingress.kill();
    throw err;
  }
  return {
    prefix,
    ingressUrl: `http://127.0.0.1:${ingressPort}`,
    workerMetricsUrl: `http://127.0.0.1:${workerPort}/metrics`,
    ingress,
    worker,
    async stop() {
      await Promise.all([ingress.kill(), worker.kill()]);
    },
  };
}

/** A FileUploadByUrlComplete callback body. */
export function uploadEvent(code: string, message = '', requestId = `req-${randomBytes(6).toString('hex')}`) {
  const jobId = randomBytes(16).toString('hex');
  return {
    RequestId: requestId,
    Version: '1.0',
    EventTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    EventType: 'FileUploadByUrlComplete',
    Data: {
      Code: code,
      Message: message,
      JobId: jobId,
      SourceUrl: `https://media.example.test/${jobId}.mp4`,
      CallbackArgs: '',
      Vid: code === 'Success' ? `v0${jobId.slice(0, 12)}` : '',
      SpaceName: 'obs-test',
    },
  };
}

/** POSTs a body to /callbacks/vod and returns the status. */
export async function postCallback(
  ingressUrl: string,
  body: unknown,
  contentType = 'application/json',
): Promise<number> {
  const res = await fetch(`${ingressUrl}/callbacks/vod`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

/** What `sendMix` sent, for the assertions. */
export const MIX = {
  success: 6,
  retryable: 3,
  permanent: 2,
  unknown: 1,
  invalidPayload: 1,
  duplicates: 1,
  malformed: 1,
  wrongType: 1,
} as const;

/** Codes the mix uses. */
export const MIX_CODES = {
  retryable: 'InternalError.UrlUploadError',
  permanent: 'DownloadFailed.UrlDownloadFail',
  unknown: 'Brand.NewCode',
} as const;

/**
 * Sends a known mix of callbacks: successes, retryable and permanent failures, an unknown code, an
 * invalid payload, one redelivery of an already processed RequestId, malformed JSON and a wrong
 * content type. Waits until the worker has processed the events (the dead letters exist).
 */
export async function sendMix(pipeline: Pipeline, countProcessed: () => Promise<number>): Promise<void> {
  const url = pipeline.ingressUrl;
  const statuses: number[] = [];
  const first = uploadEvent('Success');
  statuses.push(await postCallback(url, first));
  for (let i = 1; i < MIX.success; i++) statuses.push(await postCallback(url, uploadEvent('Success')));
  for (let i = 0; i < MIX.retryable; i++)
    statuses.push(await postCallback(url, uploadEvent(MIX_CODES.retryable, 'upload to storage failed')));
  for (let i = 0; i < MIX.permanent; i++)
    statuses.push(await postCallback(url, uploadEvent(MIX_CODES.permanent, '404 Not Found')));
  statuses.push(await postCallback(url, uploadEvent(MIX_CODES.unknown, 'never seen before')));
  statuses.push(await postCallback(url, { RequestId: `req-invalid-${randomBytes(4).toString('hex')}` }));
  if (statuses.some((s) => s !== 200)) throw new Error(`unexpected statuses ${statuses.join(',')}`);
  const processed = MIX.success + MIX.retryable + MIX.permanent + MIX.unknown + MIX.invalidPayload;
  await waitFor('worker to process the mix', async () => (await countProcessed()) >= processed, 20_000, 100);
  // A redelivery of a processed event (its job already removed): the worker counts a duplicate.
  const dup = await postCallback(url, first);
  if (dup !== 200) throw new Error(`duplicate answered ${dup}`);
  await waitFor(
    'worker to see the duplicate',
    async () => (await countProcessed()) >= processed + 1,
    20_000,
    100,
  );
  if ((await postCallback(url, '{"RequestId": ')) !== 400) throw new Error('malformed JSON not answered 400');
  if ((await postCallback(url, 'hello', 'text/plain')) !== 415)
    throw new Error('text/plain not answered 415');
}
