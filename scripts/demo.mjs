// Runs ingress + worker against a Redis (REDIS_URL, else a local redis-server, else Docker), sends
// the seed's sample callbacks plus variants through the real HTTP route, and prints the outcomes.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import {
  freePort,
  startApp,
  startRedisServer,
  uniquePrefix,
  waitFor,
} from '../packages/test-support/dist/index.js';

const fixture = (name) =>
  JSON.parse(readFileSync(new URL(`../../shared/fixtures/${name}`, import.meta.url), 'utf8'));

async function findRedis() {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    probe.disconnect();
    return { url, stop: async () => {}, how: `existing Redis at ${url}` };
  } catch {
    probe.disconnect();
  }
  try {
    const server = await startRedisServer();
    return { url: server.url, stop: () => server.stop(), how: `local redis-server on ${server.url}` };
  } catch (err) {
    throw new Error(
      `No Redis at ${url} and redis-server could not start (${err.message}). Install redis-server or set REDIS_URL.`,
    );
  }
}

const redisInfo = await findRedis();
const prefix = uniquePrefix('demo');
const ingressPort = await freePort();
const metricsPort = await freePort();
const common = {
  REDIS_URL: redisInfo.url,
  QUEUE_PREFIX: prefix,
  LOG_LEVEL: 'warn',
  EVICTION_POLICY_CHECK: 'warn',
};
console.log(`Redis: ${redisInfo.how}; queue prefix ${prefix}`);

const worker = await startApp(
  'worker',
  { ...common, LOG_LEVEL: 'info', WORKER_METRICS_PORT: String(metricsPort), REUPLOAD_BACKOFF_MS: '60000' },
  /worker consuming/,
);
const ingress = await startApp(
  'ingress',
  { ...common, LOG_LEVEL: 'info', INGRESS_PORT: String(ingressPort), INGRESS_HOST: '127.0.0.1' },
  /ingress listening/,
);
const redis = new Redis(redisInfo.url);

try {
  const success = fixture('seed-success.json');
  const failure = fixture('seed-failure.json');
  const transient = structuredClone(failure);
  transient.RequestId = 'demo-transient-1';
  transient.Data.Code = 'InternalError.UrlUploadError';
  transient.Data.Message = 'internal upload error';
  transient.Data.CallbackArgs = 'item-42';
  const unknown = structuredClone(success);
  unknown.RequestId = 'demo-unknown-1';
  unknown.Data.Code = 'Brand.NewCode';
  const events = [success, failure, transient, unknown, success /* redelivery of the same RequestId */];

  console.log(`\nPOST http://127.0.0.1:${ingressPort}/callbacks/vod`);
  for (const e of events) {
    const res = await fetch(`http://127.0.0.1:${ingressPort}/callbacks/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(e),
    });
    console.log(`  ${res.status} ${e.Data.Code.padEnd(32)} ${await res.text()}`);
  }

  const distinct = new Set(events.map((e) => e.RequestId)).size;
  const records = await waitFor(
    'all outcomes',
    async () => {
      const rows = await redis.xrange(`${prefix}:outcomes`, '-', '+');
      return rows.length >= distinct ? rows : undefined;
    },
    15_000,
  );
  console.log(`\nOutcomes (stream ${prefix}:outcomes):`);
  const table = records.map(([, f]) => {
    const o = {};
    for (let i = 0; i < f.length; i += 2) o[f[i]] = f[i + 1];
    return {
      requestId: o.requestId,
      code: o.code,
      class: o.class,
      decision: o.decision,
      attempt: o.attempt,
      vid: o.vid,
      callbackArgs: o.callbackArgs,
      reason: o.reason ?? '',
    };
  });
  console.table(table);

  const delayed = await redis.zcard(`${prefix}:vod-reuploads:delayed`);
  const deadLetters = await redis.llen(`${prefix}:vod-dead-letters:wait`);
  console.log(`vod-reuploads delayed jobs: ${delayed}; vod-dead-letters waiting: ${deadLetters}`);

  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  console.log('\nWorker metrics (non-zero vod_* counters):');
  for (const line of metrics.split('\n')) {
    if (
      /^vod_(events_processed|reuploads_scheduled|dead_letters|retries_exhausted)_total/.test(line) &&
      !line.endsWith(' 0')
    )
      console.log(`  ${line}`);
  }
} finally {
  redis.disconnect();
  await Promise.all([ingress.kill('SIGTERM'), worker.kill('SIGTERM')]);
  const cleanup = new Redis(redisInfo.url);
  let cursor = '0';
  do {
    const [next, keys] = await cleanup.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await cleanup.del(...keys);
  } while (cursor !== '0');
  cleanup.disconnect();
  await redisInfo.stop();
}
