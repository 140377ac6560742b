// End-to-end benchmark: load → ingress → Redis → worker, then until the backlog is drained. Load:
// a fixed number of callbacks sent by autocannon as fast as the pair answers (default; measures
// capacity: end-to-end rate = events / time until the last outcome), or the VOD simulator's load
// mode at --rate for --seconds (its generator tops out near 3,000/s here, below both pairs).
// Pairs: ours (the built ingress and worker) and naive (Fastify + `await queue.add` and a
// do-it-yourself BullMQ worker), interleaved, medians reported. Event lag (receipt → outcome) is
// measured on probe callbacks the bench sends alongside the load (send time vs the processed marker).
//
//   node bench/e2e.mjs [--generator=autocannon|simulator] [--events=100000 (autocannon)]
//                      [--rate=3000 --seconds=20 (simulator)]
//                      [--rounds=2] [--worker-concurrency=50]
import { join } from 'node:path';
import autocannon from 'autocannon';
import { EVENTS_QUEUE, queueKeys } from '../packages/shared/dist/index.js';
import {
  answersHttp,
  BENCH_DIR,
  callbackBody,
  callbackBodyTemplate,
  commandStats,
  cpuMeter,
  flags,
  median,
  mixedKind,
  percentile,
  printTable,
  REPO_ROOT,
  sleep,
  startNode,
  withBenchRedis,
  writeResult,
} from './lib/common.mjs';

const opts = flags({
  rate: 3000,
  seconds: 20,
  rounds: 2,
  pairs: 'naive,ours',
  workerConcurrency: 50,
  probeRate: 20,
  drainSeconds: 120,
  generator: 'autocannon',
  events: 100_000,
});
const PREFIX = 'vod';
const EVENT_KEYS = queueKeys(PREFIX, EVENTS_QUEUE);

async function startPair(pair, ts, redisUrl) {
  const port = await ts.freePort();
  const base = `http://127.0.0.1:${port}`;
  const ingress =
    pair === 'ours'
      ? await startNode(join(REPO_ROOT, 'apps/ingress/dist/main.js'), {
          env: {
            INGRESS_PORT: String(port),
            INGRESS_HOST: '127.0.0.1',
            REDIS_URL: redisUrl,
            QUEUE_PREFIX: PREFIX,
            CALLBACK_AUTH: 'none',
          },
          ready: () => answersHttp(`${base}/healthz`),
        })
      : await startNode(join(BENCH_DIR, 'servers/naive-ingress.mjs'), {
          env: { PORT: String(port), REDIS_URL: redisUrl, QUEUE_PREFIX: PREFIX },
          ready: () => answersHttp(`${base}/`),
        });
  const concurrency = String(opts.workerConcurrency);
  let worker;
  if (pair === 'ours') {
    const metricsPort = await ts.freePort();
    worker = await startNode(join(REPO_ROOT, 'apps/worker/dist/main.js'), {
      env: {
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: PREFIX,
        WORKER_CONCURRENCY: concurrency,
        // Re-uploads are scheduled but not due within the run (the naive worker only schedules them
        // too), so every outcome counted is an event's outcome.
        REUPLOAD_BACKOFF_MS: '600000',
        WORKER_METRICS_HOST: '127.0.0.1',
        WORKER_METRICS_PORT: String(metricsPort),
      },
      ready: async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200,
    });
  } else {
    worker = await startNode(join(BENCH_DIR, 'servers/naive-worker.mjs'), {
      env: { REDIS_URL: redisUrl, QUEUE_PREFIX: PREFIX, WORKER_CONCURRENCY: concurrency },
      ready: (out) => out.includes('naive worker ready'),
    });
  }
  return { ingress, worker, url: `${base}/callbacks/vod` };
}

/** Time (epoch ms) the worker recorded this RequestId: ours stores the outcome's stream id, naive the time. */
function markerTime(value) {
  if (!value) return undefined;
  return Number(value.split('-')[0]);
}

/** The VOD simulator's load mode: paced at --rate, 50 in flight, 5% redeliveries, its own code mix. */
async function simulatorLoad(url) {
  const sim = await startNode(join(REPO_ROOT, 'apps/vod-simulator/dist/main.js'), {
    args: [
      'load',
      '--target',
      url,
      '--count',
      String(opts.rate * opts.seconds),
      '--rate',
      String(opts.rate),
      '--concurrency',
      '50',
      '--duplicates',
      '0.05',
      '--max-seconds',
      String(opts.seconds + 30),
    ],
  });
  const exit = await sim.exited;
  if (exit.code !== 0) throw new Error(`simulator load failed: ${sim.output()}`);
  return JSON.parse(sim.output().slice(sim.output().indexOf('{')));
}

const templates = {
  success: callbackBodyTemplate('success'),
  retryable: callbackBodyTemplate('retryable'),
  permanent: callbackBodyTemplate('permanent'),
};

/**
 * autocannon, 50 connections, `--events` callbacks as fast as the pair answers (the simulator's
 * generator tops out near 3,000/s on this box, below either pair's capacity): 90/5/5 mix, every
 * 20th request a redelivery. Returns the simulator's report shape.
 */
async function autocannonLoad(url, tag) {
  let n = 0;
  let duplicates = 0;
  const r = await autocannon({
    url,
    connections: 50,
    // A fixed amount of work: the pair that turns it into outcomes sooner is faster.
    amount: opts.events,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        setupRequest(req) {
          const i = n++;
          if (i % 20 === 19) {
            duplicates++;
            req.body = templates[mixedKind(i - 10)](`${tag}${(i - 10).toString(36)}`);
          } else req.body = templates[mixedKind(i)](`${tag}${i.toString(36)}`);
          return req;
        },
      },
    ],
  });
  return {
    sent: n,
    duplicates,
    distinct: n - duplicates,
    statuses: { 200: r['2xx'] },
    // Requests still in flight when autocannon stopped: answered and stored, but not counted.
    uncounted: n - r.requests.total,
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
  };
}

async function runPair(pair, round, ts, redisServer, redis) {
  await redis.flushall();
  const { ingress, worker, url } = await startPair(pair, ts, redisServer.url);
  const probes = [];
  const backlog = [];
  try {
    await redis.config('RESETSTAT');
    const meter = cpuMeter({ ingress: ingress.pid, worker: worker.pid, redis: redisServer.process.pid });
    const t0 = Date.now();
    let loadDone = false;
    const sampler = (async () => {
      while (!loadDone || backlog.at(-1)?.waiting > 0) {
        const [waiting, active] = await Promise.all([
          redis.llen(EVENT_KEYS.wait),
          redis.llen(EVENT_KEYS.active),
        ]);
        backlog.push({ s: Math.round((Date.now() - t0) / 1000), waiting, active });
        if (Date.now() - t0 > (opts.seconds + opts.drainSeconds) * 1000) break;
        await sleep(1000);
      }
    })();
    const prober = (async () => {
      let n = 0;
      while (!loadDone) {
        const requestId = `2024probe${pair}${round}x${n++}`;
        const sentAt = Date.now();
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: callbackBody(requestId),
        })
          .then(async (res) => {
            await res.arrayBuffer();
            probes.push({ requestId, sentAt, status: res.status });
          })
          .catch(() => probes.push({ requestId, sentAt, status: 0 }));
        await sleep(1000 / opts.probeRate);
      }
    })();
    const report =
      opts.generator === 'simulator'
        ? await simulatorLoad(url)
        : await autocannonLoad(url, `2024e2e${pair}${round}x`);
    const loadSeconds = (Date.now() - t0) / 1000;
    loadDone = true;
    await prober;
    const outcomesAtLoadEnd = await redis.xlen(`${PREFIX}:outcomes`);
    // Drained: nothing waiting or active.
    const deadline = Date.now() + opts.drainSeconds * 1000;
    for (;;) {
      const [w, a] = await Promise.all([redis.llen(EVENT_KEYS.wait), redis.llen(EVENT_KEYS.active)]);
      if (w === 0 && a === 0) break;
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    const drainedSeconds = (Date.now() - t0) / 1000;
    const cpu = meter.stop();
    await sampler;
    const outcomes = await redis.xlen(`${PREFIX}:outcomes`);
    const redisCommands = await commandStats(redis, outcomes, 12);
    const markers = await redis.mget(...probes.map((p) => `${PREFIX}:processed:${p.requestId}`));
    const lags = probes.map((p, i) => markerTime(markers[i]) - p.sentAt).filter((x) => Number.isFinite(x));
    const acked = (report.statuses['200'] ?? 0) + probes.filter((p) => p.status === 200).length;
    const distinctAcked = report.distinct + probes.length;
    return {
      pair,
      round,
      sent: report.sent + probes.length,
      duplicatesSent: report.duplicates,
      distinct: distinctAcked,
      acked,
      non200: report.sent - (report.uncounted ?? 0) + probes.length - acked,
      ingressP50Ms: report.latencyMs.p50,
      ingressP99Ms: report.latencyMs.p99,
      loadSeconds,
      drainedSeconds,
      outcomes,
      // Every distinct event must end as exactly one outcome (all were acknowledged 200 here; with
      // autocannon, requests in flight at its stop were stored but not counted).
      outcomesComplete: outcomes >= distinctAcked - (report.uncounted ?? 0) && outcomes <= distinctAcked,
      processedPerSecDuringLoad: outcomesAtLoadEnd / loadSeconds,
      endToEndPerSec: outcomes / drainedSeconds,
      lagP50Ms: percentile(lags, 50),
      lagP99Ms: percentile(lags, 99),
      lagMaxMs: Math.max(...lags),
      probesWithOutcome: lags.length,
      probes: probes.length,
      maxBacklog: Math.max(...backlog.map((b) => b.waiting)),
      cpuUsPerEvent: (cpu.ingress + cpu.worker + cpu.redis) / outcomes,
      ingressCpuUsPerEvent: cpu.ingress / outcomes,
      workerCpuUsPerEvent: cpu.worker / outcomes,
      redisCpuUsPerEvent: cpu.redis / outcomes,
      // Time inside commands (INFO commandstats); the rest of Redis's CPU is network I/O and its loop.
      redisCommandUsPerEvent: redisCommands.reduce((sum, c) => sum + c.usPer, 0),
      redisCommands,
      backlog,
    };
  } finally {
    await ingress.stop();
    await worker.stop();
  }
}

const runs = await withBenchRedis(async (ts, redisServer, redis) => {
  const runs = [];
  for (let round = 1; round <= opts.rounds; round++) {
    for (const pair of opts.pairs.split(',')) {
      process.stdout.write(`round ${round}: ${pair} pair …\n`);
      runs.push(await runPair(pair, round, ts, redisServer, redis));
    }
  }
  return runs;
});

const summary = [...new Set(runs.map((r) => r.pair))].map((pair) => {
  const rs = runs.filter((r) => r.pair === pair);
  const m = (k) => median(rs.map((r) => r[k]));
  return {
    pair,
    endToEndPerSec: m('endToEndPerSec'),
    processedPerSecDuringLoad: m('processedPerSecDuringLoad'),
    ingressP99Ms: m('ingressP99Ms'),
    lagP50Ms: m('lagP50Ms'),
    lagP99Ms: m('lagP99Ms'),
    maxBacklog: m('maxBacklog'),
    cpuUsPerEvent: m('cpuUsPerEvent'),
    ingressCpuUsPerEvent: m('ingressCpuUsPerEvent'),
    workerCpuUsPerEvent: m('workerCpuUsPerEvent'),
    redisCpuUsPerEvent: m('redisCpuUsPerEvent'),
    redisCommandUsPerEvent: m('redisCommandUsPerEvent'),
    non200: rs.reduce((s, r) => s + r.non200, 0),
    outcomesComplete: rs.every((r) => r.outcomesComplete),
  };
});
const by = Object.fromEntries(summary.map((s) => [s.pair, s]));
const ratios =
  by.ours && by.naive
    ? {
        endToEndOursOverNaive: by.ours.endToEndPerSec / by.naive.endToEndPerSec,
        cpuPerEventOursOverNaive: by.ours.cpuUsPerEvent / by.naive.cpuUsPerEvent,
        lagP99OursOverNaive: by.ours.lagP99Ms / by.naive.lagP99Ms,
      }
    : {};
printTable(
  'end to end: every run',
  runs.map(({ backlog, redisCommands, ...r }) => r),
);
for (const r of runs.filter((x) => x.round === 1)) {
  printTable(`redis time per event: ${r.pair}`, r.redisCommands);
}
for (const r of runs) {
  const b = r.backlog.filter((_, i) => i % 5 === 0 || i === r.backlog.length - 1);
  process.stdout.write(
    `backlog ${r.pair} r${r.round} (s:waiting): ${b.map((x) => `${x.s}:${x.waiting}`).join(' ')}\n`,
  );
}
printTable(`end to end: medians of ${opts.rounds} interleaved rounds`, summary);
if (ratios.endToEndOursOverNaive) printTable('end to end: ours / naive (target ≥ 1.3)', [ratios]);
writeResult(opts.generator === 'simulator' ? 'e2e-simulator' : 'e2e', {
  options: opts,
  runs,
  summary,
  ratios,
});
if (runs.some((r) => r.pair === 'ours' && !r.outcomesComplete)) {
  process.stderr.write('FAILED: our pair did not turn every acknowledged event into exactly one outcome\n');
  process.exitCode = 1;
}
