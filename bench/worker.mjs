// Worker benchmark: N queued realistic events (90% Success, 5% retryable, 5% permanent), stored the
// way the ingress stores them, drained by (a) a no-op BullMQ worker and (b) our worker (the built
// app, its own process, production defaults incl. info logs), same concurrency and retention.
// The queue is filled while paused and resumed once the worker is ready, so start-up is not timed.
//
//   node bench/worker.mjs [--jobs=10000] [--concurrency=1,10,50] [--rounds=2]
//                         [--variants=noop,ours,alt --alt-worker=<other checkout>/apps/worker/dist/main.js]
// `alt` runs another build of our worker the same way as `ours` (an A/B of a change in one run);
// `--alt-job-form=body` fills its queue the way builds before the embedded event did.
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { EVENTS_QUEUE, queueKeys, REUPLOADS_QUEUE } from '../packages/shared/dist/index.js';
import { fillEvents } from './lib/fill.mjs';
import { BENCH_DIR, REPO_ROOT, sleep, startNode, withBenchRedis } from './lib/processes.mjs';
import { commandStats, cpuMeter } from './lib/resource-usage.mjs';
import { flags, median, printTable, writeResult } from './lib/results.mjs';

const opts = flags({
  jobs: 10_000,
  concurrency: '1,10,50',
  rounds: 2,
  variants: 'noop,ours',
  cpuProf: '',
  altWorker: '',
});
const PREFIX = 'vod';
const EVENT_KEYS = queueKeys(PREFIX, EVENTS_QUEUE);

async function startWorker(variant, concurrency, ts, redisUrl) {
  const nodeArgs = opts.cpuProf
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${join(BENCH_DIR, 'results/profiles')}`,
        `--cpu-prof-name=worker-${variant}-c${concurrency}.cpuprofile`,
      ]
    : [];
  if (variant === 'noop') {
    return startNode(join(BENCH_DIR, 'servers/noop-worker.mjs'), {
      nodeArgs,
      env: { REDIS_URL: redisUrl, QUEUE_PREFIX: PREFIX, WORKER_CONCURRENCY: String(concurrency) },
      ready: (out) => out.includes('noop worker ready'),
    });
  }
  const port = await ts.freePort();
  const main = variant === 'alt' ? opts.altWorker : join(REPO_ROOT, 'apps/worker/dist/main.js');
  if (!main) throw new Error('--variants=alt needs --alt-worker=<path to apps/worker/dist/main.js>');
  return startNode(main, {
    nodeArgs,
    env: {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: PREFIX,
      WORKER_CONCURRENCY: String(concurrency),
      WORKER_METRICS_HOST: '127.0.0.1',
      WORKER_METRICS_PORT: String(port),
    },
    ready: async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
  });
}

async function drain(variant, concurrency, round, ts, redisServer, redis) {
  await redis.flushall();
  const queue = new Queue('vod-events', { connection: redis, prefix: PREFIX });
  await queue.pause();
  const form = variant === 'alt' ? opts.altJobForm : 'embedded';
  await fillEvents(redis, opts.jobs, `2024050609w${concurrency}${variant[0]}${round}x`, undefined, form);
  const worker = await startWorker(variant, concurrency, ts, redisServer.url);
  try {
    await redis.config('RESETSTAT');
    const meter = cpuMeter({ worker: worker.pid, redis: redisServer.process.pid });
    await queue.resume();
    const deadline = Date.now() + 300_000;
    for (;;) {
      const [wait, active] = await Promise.all([redis.llen(EVENT_KEYS.wait), redis.llen(EVENT_KEYS.active)]);
      if (wait === 0 && active === 0) break;
      if (Date.now() > deadline) throw new Error(`${variant} did not drain within 300 s`);
      await sleep(20);
    }
    const cpu = meter.stop();
    const redisCommands = await commandStats(redis, opts.jobs);
    const ours = variant !== 'noop';
    const outcomes = ours ? await redis.xlen(`${PREFIX}:outcomes`) : null;
    const reuploads = ours ? await redis.zcard(queueKeys(PREFIX, REUPLOADS_QUEUE).delayed) : null;
    const failed = await redis.zcard(EVENT_KEYS.failed);
    return {
      variant,
      concurrency,
      round,
      jobs: opts.jobs,
      jobsPerSec: opts.jobs / (cpu.elapsedMs / 1000),
      workerCpuUsPerJob: cpu.worker / opts.jobs,
      redisCpuUsPerJob: cpu.redis / opts.jobs,
      failed,
      outcomes,
      reuploadsScheduled: reuploads,
      redisCommands,
    };
  } finally {
    await worker.stop();
    await queue.close();
  }
}

const runs = await withBenchRedis(async (ts, redisServer, redis) => {
  const runs = [];
  for (const c of String(opts.concurrency).split(',').map(Number)) {
    for (let round = 1; round <= opts.rounds; round++) {
      for (const v of opts.variants.split(',')) {
        process.stdout.write(`concurrency ${c}, round ${round}: ${v} …\n`);
        runs.push(await drain(v, c, round, ts, redisServer, redis));
      }
    }
  }
  return runs;
});

const summary = [];
for (const c of [...new Set(runs.map((r) => r.concurrency))]) {
  const m = (v, k) => median(runs.filter((r) => r.concurrency === c && r.variant === v).map((r) => r[k]));
  const row = { concurrency: c };
  for (const v of opts.variants.split(',')) {
    row[`${v}JobsPerSec`] = m(v, 'jobsPerSec');
    row[`${v}CpuUsPerJob`] = m(v, 'workerCpuUsPerJob');
    row[`${v}RedisUsPerJob`] = m(v, 'redisCpuUsPerJob');
  }
  row.oursOverNoop = row.oursJobsPerSec / row.noopJobsPerSec;
  if (row.altJobsPerSec) row.oursOverAlt = row.oursJobsPerSec / row.altJobsPerSec;
  summary.push(row);
}
printTable(
  'worker: every run',
  runs.map(({ redisCommands, ...r }) => r),
);
for (const r of runs.filter((x) => x.round === 1)) {
  printTable(`redis time per job: ${r.variant}, concurrency ${r.concurrency}`, r.redisCommands);
}
printTable(
  `worker: medians of ${opts.rounds} interleaved rounds (target at concurrency 50: ours ≥ 0.8 × noop)`,
  summary,
);
writeResult('worker', { options: opts, runs, summary });
const wrong = runs.filter((r) => r.variant !== 'noop' && (r.outcomes !== r.jobs || r.failed > 0));
if (wrong.length > 0) {
  process.stderr.write('FAILED: our worker did not record exactly one outcome per job\n');
  process.exitCode = 1;
}
