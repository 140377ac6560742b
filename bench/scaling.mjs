// Scaling benchmark: our worker with 1, 2 and 4 processes on one queue. Scenario `io`: every job
// waits `--delay` ms (PROCESSING_DELAY_MS, standing in for a slow VOD/API call), so a process is
// bound by concurrency × latency and more processes add throughput until CPU runs out. Scenario
// `cpu`: no wait, so the box's cores are the limit (this machine has 2, shared with Redis).
//
//   node bench/scaling.mjs [--jobs=6000] [--processes=1,2,4] [--delay=20] [--concurrency=10]
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { EVENTS_QUEUE, queueKeys } from '../packages/shared/dist/index.js';
import { fillEvents } from './lib/fill.mjs';
import { REPO_ROOT, sleep, startNode, withBenchRedis } from './lib/processes.mjs';
import { cpuMeter } from './lib/resource-usage.mjs';
import { flags, median, printTable, writeResult } from './lib/results.mjs';

const opts = flags({
  jobs: 6000,
  processes: '1,2,4',
  delay: 20,
  concurrency: 10,
  cpuConcurrency: 50,
  scenarios: 'io,cpu',
  rounds: 1,
});
const PREFIX = 'vod';
const EVENT_KEYS = queueKeys(PREFIX, EVENTS_QUEUE);

async function run(scenario, processes, round, ts, redisServer, redis) {
  await redis.flushall();
  const queue = new Queue('vod-events', { connection: redis, prefix: PREFIX });
  await queue.pause();
  await fillEvents(redis, opts.jobs, `2024scale${scenario}${processes}r${round}x`);
  const workers = [];
  try {
    for (let i = 0; i < processes; i++) {
      const port = await ts.freePort();
      workers.push(
        await startNode(join(REPO_ROOT, 'apps/worker/dist/main.js'), {
          env: {
            REDIS_URL: redisServer.url,
            QUEUE_PREFIX: PREFIX,
            WORKER_CONCURRENCY: String(scenario === 'io' ? opts.concurrency : opts.cpuConcurrency),
            PROCESSING_DELAY_MS: String(scenario === 'io' ? opts.delay : 0),
            WORKER_METRICS_HOST: '127.0.0.1',
            WORKER_METRICS_PORT: String(port),
          },
          ready: async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
        }),
      );
    }
    const pids = Object.fromEntries(workers.map((w, i) => [`w${i}`, w.pid]));
    const meter = cpuMeter({ ...pids, redis: redisServer.process.pid });
    await queue.resume();
    const deadline = Date.now() + 300_000;
    for (;;) {
      const [wait, active] = await Promise.all([redis.llen(EVENT_KEYS.wait), redis.llen(EVENT_KEYS.active)]);
      if (wait === 0 && active === 0) break;
      if (Date.now() > deadline) throw new Error('did not drain within 300 s');
      await sleep(20);
    }
    const cpu = meter.stop();
    const workerCpu = workers.reduce((s, _, i) => s + cpu[`w${i}`], 0);
    const outcomes = await redis.xlen(`${PREFIX}:outcomes`);
    return {
      scenario,
      processes,
      round,
      concurrencyPerProcess: scenario === 'io' ? opts.concurrency : opts.cpuConcurrency,
      delayMs: scenario === 'io' ? opts.delay : 0,
      jobsPerSec: opts.jobs / (cpu.elapsedMs / 1000),
      // What the wait alone allows: processes × concurrency / delay.
      ioCeilingPerSec: scenario === 'io' ? (processes * opts.concurrency * 1000) / opts.delay : null,
      workersCpuPct: (workerCpu / cpu.elapsedMs / 1000) * 100,
      redisCpuPct: (cpu.redis / cpu.elapsedMs / 1000) * 100,
      outcomes,
      exactlyOnce: outcomes === opts.jobs,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await queue.close();
  }
}

const runs = await withBenchRedis(async (ts, redisServer, redis) => {
  const runs = [];
  for (const scenario of opts.scenarios.split(',')) {
    for (let round = 1; round <= opts.rounds; round++) {
      for (const p of String(opts.processes).split(',').map(Number)) {
        process.stdout.write(`${scenario}: ${p} worker process(es), round ${round} …\n`);
        runs.push(await run(scenario, p, round, ts, redisServer, redis));
      }
    }
  }
  return runs;
});

const summary = [];
for (const scenario of [...new Set(runs.map((r) => r.scenario))]) {
  const one = median(
    runs.filter((r) => r.scenario === scenario && r.processes === 1).map((r) => r.jobsPerSec),
  );
  for (const p of [...new Set(runs.map((r) => r.processes))]) {
    const rs = runs.filter((r) => r.scenario === scenario && r.processes === p);
    const jobsPerSec = median(rs.map((r) => r.jobsPerSec));
    summary.push({
      scenario,
      processes: p,
      jobsPerSec,
      speedup: jobsPerSec / one,
      ioCeilingPerSec: rs[0].ioCeilingPerSec,
      workersCpuPct: median(rs.map((r) => r.workersCpuPct)),
      redisCpuPct: median(rs.map((r) => r.redisCpuPct)),
      exactlyOnce: rs.every((r) => r.exactlyOnce),
    });
  }
}
printTable('scaling: every run', runs);
printTable('scaling: worker processes on one queue (2 CPU cores, shared with Redis)', summary);
writeResult('scaling', { options: opts, runs, summary });
if (runs.some((r) => !r.exactlyOnce)) {
  process.stderr.write('FAILED: some job did not end as exactly one outcome\n');
  process.exitCode = 1;
}
