// End-to-end benchmark: load → ingress → Redis → worker, then until the backlog is drained. Load:
// a fixed number of callbacks sent by autocannon as fast as the pair answers (default; measures
// capacity: end-to-end rate = events / time until the last outcome), or the VOD simulator's load
// mode at --rate for --seconds (its generator tops out near 3,000/s here, below both pairs).
// Pairs: ours (the built ingress and worker) and naive (Fastify + `await queue.add` and a
// do-it-yourself BullMQ worker), interleaved, medians reported; `prev` is our ingress and worker
// from another build (`--prev-dir=<checkout>`, built), run like ours: an A/B of two builds. Event lag (receipt → outcome) is
// measured on probe callbacks the bench sends alongside the load (send time vs the processed marker).
//
//   node bench/e2e.mjs [--generator=autocannon|simulator] [--events=100000 (autocannon)]
//                      [--rate=3000 --seconds=20 (simulator)]
//                      [--rounds=2] [--worker-concurrency=50]
//                      [--pairs=prev,ours --prev-dir=<other checkout>]   (→ latest-e2e-prev.json)
//                      [--trace]   (→ latest-e2e-trace.json: per pair, a run under MONITOR that
//                      counts every command and what each script runs inside, then a run with
//                      SLOWLOG sampled for the time per script; see lib/redis-trace.mjs. Both slow
//                      Redis down: use the figures of a run without --trace for rates and CPU.)
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { EVENTS_QUEUE, queueKeys } from '../packages/shared/dist/index.js';
import { callbackBody } from './lib/callback-body.mjs';
import { callbackLoad } from './lib/callback-load.mjs';
import { answersHttp, BENCH_DIR, REPO_ROOT, sleep, startNode, withBenchRedis } from './lib/processes.mjs';
import { bullmqScriptNames, monitorTrace, slowlogSample } from './lib/redis-trace.mjs';
import { commandStats, cpuMeter } from './lib/resource-usage.mjs';
import { flags, median, percentile, printTable, summarizeBy, writeResult } from './lib/results.mjs';

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
  prevDir: '',
  trace: '',
});
const PREFIX = 'vod';
const EVENT_KEYS = queueKeys(PREFIX, EVENTS_QUEUE);

/** The checkout whose built apps the pair runs: this one for `ours`, `--prev-dir` for `prev`. */
function buildDirOf(pair) {
  if (pair !== 'prev') return REPO_ROOT;
  if (!opts.prevDir) throw new Error('--pairs=prev needs --prev-dir=<checkout of the other build, built>');
  return opts.prevDir;
}

async function startPair(pair, ts, redisUrl) {
  const port = await ts.freePort();
  const base = `http://127.0.0.1:${port}`;
  const ourKind = pair === 'ours' || pair === 'prev';
  const buildDir = buildDirOf(pair);
  const ingress = ourKind
    ? await startNode(join(buildDir, 'apps/ingress/dist/main.js'), {
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
  if (ourKind) {
    const metricsPort = await ts.freePort();
    worker = await startNode(join(buildDir, 'apps/worker/dist/main.js'), {
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

/** `trace`: 'monitor' or 'slowlog' (see --trace), or undefined for a plain run. */
async function runPair(pair, round, ts, redisServer, redis, trace) {
  await redis.flushall();
  // The processes load their scripts again (EVAL with the body): how MONITOR learns their names.
  if (trace === 'monitor') await redis.script('FLUSH');
  const monitor =
    trace === 'monitor'
      ? await monitorTrace(() => new Redis(redisServer.url), await bullmqScriptNames())
      : undefined;
  const { ingress, worker, url } = await startPair(pair, ts, redisServer.url);
  const probes = [];
  const backlog = [];
  try {
    await redis.config('RESETSTAT');
    const slowlog = trace === 'slowlog' ? await slowlogSample(redis, shaNames) : undefined;
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
        : await callbackLoad(url, { events: opts.events, tag: `2024e2e${pair}${round}x` });
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
    const redisCommands = await commandStats(redis, outcomes, 50);
    const traced = await traceOf(monitor, slowlog, outcomes);
    const markers = await redis.mget(...probes.map((p) => `${PREFIX}:processed:${p.requestId}`));
    const lags = probes.map((p, i) => markerTime(markers[i]) - p.sentAt).filter((x) => Number.isFinite(x));
    const acked = (report.statuses['200'] ?? 0) + probes.filter((p) => p.status === 200).length;
    const distinctAcked = report.distinct + probes.length;
    return {
      pair,
      round,
      ...(trace && { trace }),
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
      ...(traced && { redisTrace: traced }),
      backlog,
    };
  } finally {
    await ingress.stop();
    await worker.stop();
  }
}

/** Scripts named by the MONITOR runs (sha → name), for the SLOWLOG runs that follow them. */
const shaNames = new Map();

/**
 * Per event: from MONITOR, the calls of each top-level command or script and the commands run
 * inside the scripts; from SLOWLOG, the estimated calls and µs of each (sampled / coverage).
 */
async function traceOf(monitor, slowlog, events) {
  const per = (n) => n / events;
  if (monitor) {
    const { byLabel, shaNames: seen } = await monitor.stop();
    for (const [sha, name] of seen) shaNames.set(sha, name);
    return [...byLabel]
      .map(([label, e]) => ({
        label,
        callsPerEvent: per(e.calls),
        insidePerEvent: Object.fromEntries([...e.inner].map(([cmd, n]) => [cmd, per(n)])),
      }))
      .sort((a, b) => b.callsPerEvent - a.callsPerEvent);
  }
  if (slowlog) {
    const { byLabel, coverage, sampled, logged } = await slowlog.stop();
    const inside = (label) => label.startsWith('(inside scripts)');
    const topLevelUsec = [...byLabel].reduce((sum, [label, e]) => sum + (inside(label) ? 0 : e.usec), 0);
    return {
      sampled,
      logged,
      coverage,
      // Wall-clock µs (see lib/redis-trace.mjs): the share of top-level command time is the figure
      // to use; `(inside scripts)` rows are part of their scripts' time, not added to it.
      byLabel: [...byLabel]
        .map(([label, e]) => ({
          label,
          callsPerEvent: per(e.calls / coverage),
          shareOfCommandTime: inside(label) ? undefined : e.usec / topLevelUsec,
          wallUsPerEvent: per(e.usec / coverage),
          wallUsPerCall: e.usec / e.calls,
        }))
        .sort((a, b) => b.wallUsPerEvent - a.wallUsPerEvent),
    };
  }
  return undefined;
}

const runs = await withBenchRedis(async (ts, redisServer, redis) => {
  const runs = [];
  const traces = opts.trace ? ['monitor', 'slowlog'] : [undefined];
  for (let round = 1; round <= opts.rounds; round++) {
    const pairs = opts.pairs.split(',');
    // A B, then B A: neither pair always runs first (warm-up, a neighbour's load).
    for (const pair of round % 2 === 1 ? pairs : [...pairs].reverse()) {
      for (const trace of traces) {
        process.stdout.write(`round ${round}: ${pair} pair${trace ? ` (${trace})` : ''} …\n`);
        runs.push(await runPair(pair, round, ts, redisServer, redis, trace));
      }
    }
  }
  return runs;
});

// MONITOR slows Redis several-fold: its runs count commands, they do not measure rates.
const measured = runs.filter((r) => r.trace !== 'monitor');
const summary = summarizeBy(
  measured,
  'pair',
  [
    'endToEndPerSec',
    'processedPerSecDuringLoad',
    'ingressP99Ms',
    'lagP50Ms',
    'lagP99Ms',
    'maxBacklog',
    'cpuUsPerEvent',
    'ingressCpuUsPerEvent',
    'workerCpuUsPerEvent',
    'redisCpuUsPerEvent',
    'redisCommandUsPerEvent',
  ],
  (rs) => ({
    // What one Redis core could carry end to end at this cost (1e6 / Redis CPU µs per event).
    eventsPerRedisCoreSecond: 1e6 / median(rs.map((r) => r.redisCpuUsPerEvent)),
    non200: rs.reduce((s, r) => s + r.non200, 0),
    outcomesComplete: rs.every((r) => r.outcomesComplete),
  }),
);
const by = Object.fromEntries(summary.map((s) => [s.pair, s]));
/** ours / `other` for each measure (key `<measure>OursOver<Other>`), when both pairs ran. */
const ratiosAgainst = (other, measures) =>
  by.ours && by[other]
    ? Object.fromEntries(
        Object.entries(measures).map(([name, field]) => [
          `${name}OursOver${other[0].toUpperCase()}${other.slice(1)}`,
          by.ours[field] / by[other][field],
        ]),
      )
    : {};
const ratios = {
  ...ratiosAgainst('naive', {
    endToEnd: 'endToEndPerSec',
    cpuPerEvent: 'cpuUsPerEvent',
    redisCpuPerEvent: 'redisCpuUsPerEvent',
    lagP99: 'lagP99Ms',
  }),
  ...ratiosAgainst('prev', {
    endToEnd: 'endToEndPerSec',
    processedDuringLoad: 'processedPerSecDuringLoad',
    cpuPerEvent: 'cpuUsPerEvent',
    redisCpuPerEvent: 'redisCpuUsPerEvent',
    lagP99: 'lagP99Ms',
  }),
};
printTable(
  'end to end: every run',
  runs.map(({ backlog, redisCommands, redisTrace, ...r }) => r),
);
for (const r of runs.filter((x) => x.round === 1 && x.trace !== 'monitor')) {
  printTable(
    `redis time per event (INFO commandstats; scripts' own commands counted twice): ${r.pair}`,
    r.redisCommands,
  );
}
for (const r of runs.filter((x) => x.redisTrace)) {
  if (r.trace === 'monitor') {
    printTable(
      `MONITOR, calls per event: ${r.pair} r${r.round} (inside: the commands a script runs, per event)`,
      r.redisTrace.map(({ label, callsPerEvent, insidePerEvent }) => ({
        label,
        callsPerEvent,
        inside: Object.entries(insidePerEvent)
          .sort((a, b) => b[1] - a[1])
          .map(([cmd, n]) => `${cmd} ${n.toFixed(2)}`)
          .join(', '),
      })),
    );
  } else {
    const t = r.redisTrace;
    printTable(
      `SLOWLOG sample, top-level commands: ${r.pair} r${r.round} (${t.sampled} of ${t.logged} entries, coverage ${(t.coverage * 100).toFixed(1)}%)`,
      t.byLabel,
    );
  }
}
for (const r of runs) {
  const b = r.backlog.filter((_, i) => i % 5 === 0 || i === r.backlog.length - 1);
  process.stdout.write(
    `backlog ${r.pair} r${r.round} (s:waiting): ${b.map((x) => `${x.s}:${x.waiting}`).join(' ')}\n`,
  );
}
printTable(`end to end: medians of ${opts.rounds} interleaved rounds`, summary);
if (ratios.endToEndOursOverNaive || ratios.endToEndOursOverPrev) printTable('end to end: ratios', [ratios]);
writeResult(resultName(), {
  options: opts,
  runs,
  summary,
  ratios,
});
function resultName() {
  if (opts.trace) return 'e2e-trace';
  if (opts.pairs.split(',').includes('prev')) return 'e2e-prev';
  return opts.generator === 'simulator' ? 'e2e-simulator' : 'e2e';
}

if (runs.some((r) => r.pair === 'ours' && !r.outcomesComplete)) {
  process.stderr.write('FAILED: our pair did not turn every acknowledged event into exactly one outcome\n');
  process.exitCode = 1;
}
