import { randomBytes } from 'node:crypto';
import {
  type AppProcess,
  freePort,
  type ProcessExit,
  startApp,
  testRedisUrl,
  uniquePrefix,
  waitFor,
} from '@vod-callbacks/test-support';
import type { VodCredentials } from '../helpers/simulator-in-process.js';

/** A live ingress + worker on their own queue prefix. */
export interface Pipeline {
  /** The Redis both apps use (REDIS_URL). */
  redisUrl: string;
  prefix: string;
  ingressUrl: string;
  /** `<ingressUrl>/callbacks/vod`, where VOD posts callbacks. */
  callbackUrl: string;
  workerMetricsUrl: string;
  ingress: AppProcess;
  worker: AppProcess;
  /** Sends SIGTERM to every process; resolves with how each ended, in the order they were started. */
  stop(): Promise<ProcessExit[]>;
}

/** What `startPipeline` starts. */
export interface PipelineOptions {
  /** Names the queue prefix (default `obs`). */
  label?: string;
  /** Added to the environment of both apps. */
  env?: Record<string, string>;
  ingressEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /**
   * The space's PrivateKey: the ingress then requires VOD's signature (CALLBACK_PRIVATE_KEY, with
   * `callbackUrl` as CALLBACK_PUBLIC_URL). Unset: unsigned callbacks are taken (CALLBACK_AUTH=none).
   */
  callbackPrivateKey?: string;
  /** QUEUE_PREFIX (default: a unique one named by `label`). */
  prefix?: string;
  /** How long each app may take to print its start-up line (default: startApp's). */
  startTimeoutMs?: number;
}

/** Starts the built ingress and worker (`apps/<app>/dist/main.js`) on free ports and a unique prefix. */
export async function startPipeline(opts: PipelineOptions = {}): Promise<Pipeline> {
  return launch(opts, await freePort(), {}, []);
}

/** A pipeline whose worker re-uploads through the built VOD simulator, which calls the ingress back. */
export interface SimulatedPipeline extends Pipeline {
  /** `http://127.0.0.1:<port>`, the simulator's OpenAPI (and `/sim/stats`, `/sim/faults`). */
  simUrl: string;
  simulator: AppProcess;
  /** The only credentials the simulator accepts (the worker has them). */
  credentials: VodCredentials;
}

/**
 * Starts the built VOD simulator, then the pipeline: the simulator posts its callbacks to the
 * ingress (unsigned unless `simulatorEnv` gives SIM_CALLBACK_PRIVATE_KEY), and the worker re-uploads
 * through it with `credentials`. `simulatorEnv` adds SIM_* variables; `workerEnv` can still change
 * the worker's VOD settings.
 */
export async function startPipelineWithSimulator(
  opts: PipelineOptions & { credentials: VodCredentials; simulatorEnv?: Record<string, string> },
): Promise<SimulatedPipeline> {
  const [simPort, ingressPort] = [await freePort(), await freePort()];
  const simulator = await startApp(
    'vod-simulator',
    {
      SIM_PORT: String(simPort),
      SIM_ACCESS_KEY_ID: opts.credentials.accessKeyId,
      SIM_SECRET_KEY: opts.credentials.secretKey,
      SIM_CALLBACK_URL: callbackUrlOf(ingressPort),
      ...opts.simulatorEnv,
    },
    /vod-simulator listening/,
  );
  const vodApi = {
    VOLC_ACCESSKEY: opts.credentials.accessKeyId,
    VOLC_SECRETKEY: opts.credentials.secretKey,
    VOD_API_HOST: `127.0.0.1:${simPort}`,
    VOD_API_PROTOCOL: 'http:',
  };
  const pipeline = await launch(opts, ingressPort, vodApi, [simulator]);
  return { ...pipeline, simUrl: `http://127.0.0.1:${simPort}`, simulator, credentials: opts.credentials };
}

const callbackUrlOf = (ingressPort: number) => `http://127.0.0.1:${ingressPort}/callbacks/vod`;

/** Starts the ingress on `ingressPort`, then the worker; `before` are already running (stopped with them). */
async function launch(
  opts: PipelineOptions,
  ingressPort: number,
  workerVodApi: Record<string, string>,
  before: AppProcess[],
): Promise<Pipeline> {
  const prefix = opts.prefix ?? uniquePrefix(opts.label ?? 'obs');
  const workerPort = await freePort();
  const callbackUrl = callbackUrlOf(ingressPort);
  const common = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, LOG_LEVEL: 'info', ...opts.env };
  const callbackAuth: Record<string, string> =
    opts.callbackPrivateKey === undefined
      ? // The pipeline's callbacks are unsigned: say so (the ingress refuses to start otherwise).
        { CALLBACK_AUTH: 'none' }
      : { CALLBACK_PRIVATE_KEY: opts.callbackPrivateKey, CALLBACK_PUBLIC_URL: callbackUrl };
  const started = [...before];
  const stop = () => Promise.all(started.map((p) => p.kill('SIGTERM')));
  try {
    const ingress = await startApp(
      'ingress',
      {
        ...common,
        INGRESS_HOST: '127.0.0.1',
        INGRESS_PORT: String(ingressPort),
        ...callbackAuth,
        ...opts.ingressEnv,
      },
      /ingress listening on/,
      [],
      opts.startTimeoutMs,
    );
    started.push(ingress);
    const worker = await startApp(
      'worker',
      {
        ...common,
        WORKER_METRICS_HOST: '127.0.0.1',
        WORKER_METRICS_PORT: String(workerPort),
        ...workerVodApi,
        ...opts.workerEnv,
      },
      /worker consuming vod-events/,
      [],
      opts.startTimeoutMs,
    );
    started.push(worker);
    return {
      redisUrl: common.REDIS_URL,
      prefix,
      ingressUrl: `http://127.0.0.1:${ingressPort}`,
      callbackUrl,
      workerMetricsUrl: `http://127.0.0.1:${workerPort}/metrics`,
      ingress,
      worker,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
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
