// Memory benchmark. Part 1: Redis bytes per waiting event job (ours vs naive Queue.add of the parsed
// body) and per processed event (retained completed job, outcome record, markers, source state).
// Part 2: a soak — the simulator's load mode at a steady rate through our ingress and worker — with
// the RSS of both processes sampled over time (flat is the goal).
//
//   node bench/memory.mjs [--jobs=10000] [--soak-seconds=600] [--soak-rate=300] [--skip-soak]
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { EVENTS_QUEUE, queueKeys } from '../packages/shared/dist/index.js';
import { callbackBody, mixedKind } from './lib/callback-body.mjs';
import { fillEvents } from './lib/fill.mjs';
import { answersHttp, REPO_ROOT, sleep, startNode, withBenchRedis } from './lib/processes.mjs';
import { procRssBytes } from './lib/resource-usage.mjs';
import { flags, printTable, writeResult } from './lib/results.mjs';

const opts = flags({ jobs: 10_000, soakSeconds: 600, soakRate: 300, skipSoak: '' });
const PREFIX = 'vod';
const EVENT_KEYS = queueKeys(PREFIX, EVENTS_QUEUE);

const usedMemory = async (redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
const usage = async (redis, key) => Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);

async function startWorker(ts, redisUrl, env = {}) {
  const port = await ts.freePort();
  return startNode(join(REPO_ROOT, 'apps/worker/dist/main.js'), {
    env: {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: PREFIX,
      WORKER_CONCURRENCY: '50',
      WORKER_METRICS_HOST: '127.0.0.1',
      WORKER_METRICS_PORT: String(port),
      ...env,
    },
    ready: async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
  });
}

async function drained(redis) {
  for (let i = 0; i < 3000; i++) {
    const [w, a] = await Promise.all([redis.llen(EVENT_KEYS.wait), redis.llen(EVENT_KEYS.active)]);
    if (w === 0 && a === 0) return;
    await sleep(100);
  }
  throw new Error('queue did not drain');
}

async function redisBytes(ts, redisServer, redis) {
  const n = opts.jobs;
  const rows = [];

  await redis.flushall();
  let before = await usedMemory(redis);
  await fillEvents(redis, n, '2024memours');
  const oursWaiting = (await usedMemory(redis)) - before;
  const sampleId = (await redis.lrange(EVENT_KEYS.wait, 0, 0))[0];
  rows.push({
    what: 'waiting event job (ours)',
    bytesPerEvent: oursWaiting / n,
    sampleKeyBytes: await usage(redis, `${EVENT_KEYS.base}${sampleId}`),
  });

  await redis.flushall();
  before = await usedMemory(redis);
  const naive = new Queue('vod-events', {
    connection: redis,
    prefix: PREFIX,
    defaultJobOptions: {
      attempts: 10,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
    },
  });
  for (let i = 0; i < n; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 500); j++) {
      const requestId = `2024memnaive${j.toString(36)}`;
      batch.push(
        naive.add('callback', JSON.parse(callbackBody(requestId, mixedKind(j))), {
          jobId: `evt-${requestId}`,
        }),
      );
    }
    await Promise.all(batch);
  }
  await naive.close();
  const naiveWaiting = (await usedMemory(redis)) - before;
  const naiveId = (await redis.lrange(EVENT_KEYS.wait, 0, 0))[0];
  rows.push({
    what: 'waiting event job (naive Queue.add)',
    bytesPerEvent: naiveWaiting / n,
    sampleKeyBytes: await usage(redis, `${EVENT_KEYS.base}${naiveId}`),
  });

  // Processed with every completed job retained, to price one.
  await redis.flushall();
  before = await usedMemory(redis);
  await fillEvents(redis, n, '2024memdone');
  const worker = await startWorker(ts, redisServer.url, { EVENT_JOB_KEEP_COMPLETED: String(n) });
  await drained(redis);
  await worker.stop();
  const processedAll = (await usedMemory(redis)) - before;
  const completedIds = await redis.zrange(EVENT_KEYS.completed, 0, 0);
  const outcomes = await usage(redis, `${PREFIX}:outcomes`);
  const perKey = async (pattern) => {
    const [, keys] = await redis.scan('0', 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length === 0) return 0;
    const sizes = await Promise.all(keys.slice(0, 50).map((k) => usage(redis, k)));
    return sizes.reduce((a, b) => a + b, 0) / sizes.length;
  };
  rows.push({
    what: 'processed event, completed job retained (all keys)',
    bytesPerEvent: processedAll / n,
    sampleKeyBytes: completedIds[0] ? await usage(redis, `${EVENT_KEYS.base}${completedIds[0]}`) : 0,
  });
  rows.push({
    what: '  of which: outcome record (stream entry)',
    bytesPerEvent: outcomes / n,
    sampleKeyBytes: '',
  });
  rows.push({
    what: '  of which: processed marker (TTL 7 d)',
    bytesPerEvent: await perKey(`${PREFIX}:processed:*`),
    sampleKeyBytes: '',
  });
  rows.push({
    what: '  of which: latest state per source (TTL 30 d)',
    bytesPerEvent: await perKey(`${PREFIX}:source:*`),
    sampleKeyBytes: '',
  });
  rows.push({
    what: '  of which: source by URL (TTL 30 d)',
    bytesPerEvent: await perKey(`${PREFIX}:source-by-url:*`),
    sampleKeyBytes: '',
  });
  rows.push({
    what: '  of which: JobId mapping (TTL 30 d)',
    bytesPerEvent: await perKey(`${PREFIX}:upload-job:*`),
    sampleKeyBytes: '',
  });
  rows.push({
    what: '  of which: completed job hash (kept: last EVENT_JOB_KEEP_COMPLETED)',
    bytesPerEvent: completedIds[0] ? await usage(redis, `${EVENT_KEYS.base}${completedIds[0]}`) : 0,
    sampleKeyBytes: '',
  });
  return { rows };
}

async function soak(ts, redisServer, redis) {
  await redis.flushall();
  const port = await ts.freePort();
  const ingress = await startNode(join(REPO_ROOT, 'apps/ingress/dist/main.js'), {
    env: {
      INGRESS_PORT: String(port),
      INGRESS_HOST: '127.0.0.1',
      REDIS_URL: redisServer.url,
      QUEUE_PREFIX: PREFIX,
      CALLBACK_AUTH: 'none',
    },
    ready: () => answersHttp(`http://127.0.0.1:${port}/healthz`),
  });
  const worker = await startWorker(ts, redisServer.url, { WORKER_CONCURRENCY: '10' });
  const samples = [];
  const t0 = Date.now();
  const sample = async () =>
    samples.push({
      s: Math.round((Date.now() - t0) / 1000),
      ingressRssMB: procRssBytes(ingress.pid) / 1048576,
      workerRssMB: procRssBytes(worker.pid) / 1048576,
      redisUsedMB: (await usedMemory(redis)) / 1048576,
      waiting: await redis.llen(EVENT_KEYS.wait),
      outcomes: await redis.xlen(`${PREFIX}:outcomes`),
    });
  try {
    await sample();
    const sim = await startNode(join(REPO_ROOT, 'apps/vod-simulator/dist/main.js'), {
      args: [
        'load',
        '--target',
        `http://127.0.0.1:${port}/callbacks/vod`,
        '--count',
        String(opts.soakRate * opts.soakSeconds),
        '--rate',
        String(opts.soakRate),
        '--duplicates',
        '0.05',
        '--max-seconds',
        String(Math.min(600, opts.soakSeconds + 5)),
      ],
    });
    let done = false;
    sim.exited.then(() => {
      done = true;
    });
    while (!done) {
      await sleep(10_000);
      await sample();
      process.stdout.write(
        `soak ${samples.at(-1).s} s: ingress ${samples.at(-1).ingressRssMB.toFixed(1)} MB, worker ${samples.at(-1).workerRssMB.toFixed(1)} MB\n`,
      );
    }
    const report = JSON.parse(sim.output().slice(sim.output().indexOf('{')));
    await drained(redis);
    await sample();
    return { samples, load: report, soakSeconds: report.durationMs / 1000 };
  } finally {
    await ingress.stop();
    await worker.stop();
  }
}

const { bytes, soaked } = await withBenchRedis(async (ts, redisServer, redis) => ({
  bytes: await redisBytes(ts, redisServer, redis),
  soaked: opts.skipSoak ? undefined : await soak(ts, redisServer, redis),
}));

printTable(
  `redis memory (${opts.jobs} events; used_memory delta per event, MEMORY USAGE of a sample key)`,
  bytes.rows,
);
let rss;
if (soaked) {
  const s = soaked.samples;
  // The first sample after 60 s of load is the reference: start-up and JIT warm-up are not leaks.
  const ref = s.find((x) => x.s >= 60) ?? s[1];
  const last = s.at(-1);
  rss = [
    {
      process: 'ingress',
      atStartMB: s[0].ingressRssMB,
      after60sMB: ref.ingressRssMB,
      endMB: last.ingressRssMB,
      maxMB: Math.max(...s.map((x) => x.ingressRssMB)),
    },
    {
      process: 'worker',
      atStartMB: s[0].workerRssMB,
      after60sMB: ref.workerRssMB,
      endMB: last.workerRssMB,
      maxMB: Math.max(...s.map((x) => x.workerRssMB)),
    },
  ];
  printTable(
    `RSS during a ${soaked.soakSeconds.toFixed(0)} s soak at ${opts.soakRate}/s (${soaked.load.sent} callbacks, statuses ${JSON.stringify(soaked.load.statuses)})`,
    rss,
  );
}
writeResult('memory', { options: opts, redis: bytes, soak: soaked, rss });
