// Ingress benchmark: (a) bare Fastify 204, (b) naive Fastify + `await queue.add`, (c) our
// POST /callbacks/vod (the built app, its own process). Same 1.2 KB body with unique RequestIds,
// autocannon with 50 connections, variants interleaved for `rounds` rounds, medians reported.
// Afterwards every variant that stores must hold exactly as many jobs as it answered 2xx, and a
// redelivered RequestId must be answered 200 without a second job.
//
//   node bench/ingress.mjs [--duration=10] [--warmup=3] [--connections=50] [--rounds=2]
//                          [--variants=bare,naive,ours] [--cpu-prof=ours]
//                          [--variants=naive,alt,ours --alt-ingress=<checkout>/apps/ingress/dist/main.js]
//                          [--variants=prev,ours --prev-dir=<other checkout, built>]   (→ latest-ingress-prev.json)
//                          [--variants=ours-min0,ours-min1]   (REDIS_MIN_REPLICAS 0 vs 1; the bench Redis
//                          gets one replica for the whole run, so both run against the same pair)
// Variant `probe` (diagnostic): our app with an enqueue that stores nothing. Variants `alt` and
// `prev`: another build of our ingress, run like `ours` (an A/B of a change in one run); `alt` names
// its main.js, `prev` the checkout.
import { join } from 'node:path';
import autocannon from 'autocannon';
import { EVENTS_QUEUE, queueKeys } from '../packages/shared/dist/index.js';
import { callbackBody, callbackBodyTemplate } from './lib/callback-body.mjs';
import { answersHttp, BENCH_DIR, REPO_ROOT, sleep, startNode, withBenchRedis } from './lib/processes.mjs';
import { cpuMeter } from './lib/resource-usage.mjs';
import { flags, printTable, RESULTS_DIR, summarizeBy, writeResult } from './lib/results.mjs';

const opts = flags({
  duration: 10,
  warmup: 3,
  connections: 50,
  rounds: 2,
  variants: 'bare,probe,naive,ours',
  cpuProf: '',
  nodeArgs: '',
  altIngress: '',
  prevDir: '',
});
const PREFIX = 'vod';
const EVENT_KEYS = queueKeys(PREFIX, EVENTS_QUEUE);
const SEEDS = 20;

const SERVERS = {
  bare: (port) => ({ script: join(BENCH_DIR, 'servers/bare-ingress.mjs'), env: { PORT: String(port) } }),
  naive: (port, redisUrl) => ({
    script: join(BENCH_DIR, 'servers/naive-ingress.mjs'),
    env: { PORT: String(port), REDIS_URL: redisUrl, QUEUE_PREFIX: PREFIX },
  }),
  probe: (port) => ({
    script: join(BENCH_DIR, 'servers/probe-ingress.mjs'),
    env: { INGRESS_PORT: String(port), LOG_LEVEL: 'warn', CALLBACK_AUTH: 'none' },
  }),
  ours: (port, redisUrl) => ({
    script: join(REPO_ROOT, 'apps/ingress/dist/main.js'),
    env: oursEnv(port, redisUrl),
  }),
  'ours-min0': (port, redisUrl) => ({
    script: join(REPO_ROOT, 'apps/ingress/dist/main.js'),
    env: { ...oursEnv(port, redisUrl), REDIS_MIN_REPLICAS: '0' },
  }),
  'ours-min1': (port, redisUrl) => ({
    script: join(REPO_ROOT, 'apps/ingress/dist/main.js'),
    env: { ...oursEnv(port, redisUrl), REDIS_MIN_REPLICAS: '1' },
  }),
  alt: (port, redisUrl) => {
    if (!opts.altIngress)
      throw new Error('--variants=alt needs --alt-ingress=<path to apps/ingress/dist/main.js>');
    return { script: opts.altIngress, env: oursEnv(port, redisUrl) };
  },
  prev: (port, redisUrl) => {
    if (!opts.prevDir)
      throw new Error('--variants=prev needs --prev-dir=<checkout of the other build, built>');
    return { script: join(opts.prevDir, 'apps/ingress/dist/main.js'), env: oursEnv(port, redisUrl) };
  },
};

function oursEnv(port, redisUrl) {
  return {
    INGRESS_PORT: String(port),
    INGRESS_HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: PREFIX,
    LOG_LEVEL: 'warn',
    // The load is unsigned: say so (the ingress refuses to start otherwise).
    CALLBACK_AUTH: 'none',
  };
}

/** Posts one body; returns the status. */
async function post(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await res.arrayBuffer();
  return res.status;
}

const fastBody = callbackBodyTemplate();

function load(url, seconds, tag) {
  let n = 0;
  return autocannon({
    url,
    connections: opts.connections,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        setupRequest(req) {
          req.body = fastBody(`${tag}${(n++).toString(36)}`);
          return req;
        },
      },
    ],
  });
}

async function runVariant(variant, round, ts, redisServer, redis) {
  const port = await ts.freePort();
  const { script, env } = SERVERS[variant](port, redisServer.url);
  const nodeArgs =
    opts.cpuProf.split(',').includes(variant) && variant !== ''
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${join(RESULTS_DIR, 'profiles')}`,
          `--cpu-prof-name=${variant}-r${round}.cpuprofile`,
        ]
      : [];
  if (opts.nodeArgs && variant === 'ours') nodeArgs.push(...opts.nodeArgs.split(' '));
  const base = `http://127.0.0.1:${port}`;
  const server = await startNode(script, { env, nodeArgs, ready: () => answersHttp(`${base}/`) });
  const url = `${base}/callbacks/vod`;
  const tag = `2024050609${variant.slice(0, 2)}${variant.at(-1)}${round}x`;
  try {
    const seeds = Array.from({ length: SEEDS }, (_, i) => callbackBody(`${tag}seed${i}`));
    for (const s of seeds) await post(url, s);

    const warm = await load(url, opts.warmup, `${tag}w`);
    const meter = cpuMeter({ server: server.pid, redis: redisServer.process.pid });
    const r = await load(url, opts.duration, `${tag}m`);
    const cpu = meter.stop();

    const stores =
      variant === 'naive' || variant.startsWith('ours') || variant === 'alt' || variant === 'prev';
    let stored = 0;
    let expected = 0;
    let dedupeOk = true;
    if (stores) {
      // Requests in flight when autocannon stopped are still answered (and stored); let them land.
      await sleep(500);
      const before = await redis.llen(EVENT_KEYS.wait);
      const statuses = [];
      for (const s of seeds) statuses.push(await post(url, s));
      stored = await redis.llen(EVENT_KEYS.wait);
      dedupeOk = stored === before && statuses.every((s) => s === 200);
      expected = SEEDS + warm['2xx'] + r['2xx'];
    }
    const acked = r['2xx'];
    const seconds = cpu.elapsedMs / 1000;
    return {
      variant,
      round,
      reqPerSec: acked / seconds,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      maxMs: r.latency.max,
      acked,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      serverCpuUsPerAck: cpu.server / acked,
      serverSysUsPerAck: cpu.serverSys / acked,
      redisCpuUsPerAck: cpu.redis / acked,
      serverCpuPct: (cpu.server / cpu.elapsedMs / 1000) * 100,
      stored: stores ? stored : null,
      expectedStored: stores ? expected : null,
      // Each 2xx must be a stored job; up to one request per connection per load phase was still in
      // flight when autocannon stopped counting, so it may be stored without being counted.
      everyAckStored: stores ? stored >= expected && stored <= expected + 2 * opts.connections : null,
      dedupeOk: stores ? dedupeOk : null,
    };
  } finally {
    await server.stop();
    await redis.flushall();
  }
}

const runs = await withBenchRedis(async (ts, redisServer, redis) => {
  const runs = [];
  const variants = opts.variants.split(',');
  // REDIS_MIN_REPLICAS variants: one replica of the bench Redis for the whole run.
  const replica = variants.some((v) => v.startsWith('ours-min'))
    ? await ts.startRedisServer({ args: ['--replicaof', '127.0.0.1', String(redisServer.port)] })
    : undefined;
  if (replica)
    await ts.waitFor(
      'the replica to sync',
      async () => /state=online/.test(await redis.info('replication')),
      30_000,
      100,
    );
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      // A B, then B A: neither variant always runs first (warm-up, a neighbour's load).
      for (const v of round % 2 === 1 ? variants : [...variants].reverse()) {
        process.stdout.write(`round ${round}: ${v} …\n`);
        runs.push(await runVariant(v, round, ts, redisServer, redis));
      }
    }
  } finally {
    await replica?.stop();
  }
  return runs;
});

const summary = summarizeBy(
  runs,
  'variant',
  ['reqPerSec', 'p50Ms', 'p99Ms', 'maxMs', 'serverCpuUsPerAck', 'serverSysUsPerAck', 'redisCpuUsPerAck'],
  (rs) => ({
    non2xx: rs.reduce((s, r) => s + r.non2xx + r.errors, 0),
    everyAckStored: rs.every((r) => r.everyAckStored !== false),
    dedupeOk: rs.every((r) => r.dedupeOk !== false),
  }),
);
const by = Object.fromEntries(summary.map((s) => [s.variant, s]));
const ratios =
  by.ours && by.prev && !by.naive
    ? {
        throughputOursOverPrev: by.ours.reqPerSec / by.prev.reqPerSec,
        serverCpuOursOverPrev: by.ours.serverCpuUsPerAck / by.prev.serverCpuUsPerAck,
        redisCpuOursOverPrev: by.ours.redisCpuUsPerAck / by.prev.redisCpuUsPerAck,
        p99OursOverPrev: by.ours.p99Ms / by.prev.p99Ms,
      }
    : by.ours && by.naive
      ? {
          serverCpuOursOverNaive: by.ours.serverCpuUsPerAck / by.naive.serverCpuUsPerAck,
          redisCpuOursOverNaive: by.ours.redisCpuUsPerAck / by.naive.redisCpuUsPerAck,
          throughputOursOverNaive: by.ours.reqPerSec / by.naive.reqPerSec,
          p99OursOverNaive: by.ours.p99Ms / by.naive.p99Ms,
          ...(by.alt && {
            serverCpuOursOverAlt: by.ours.serverCpuUsPerAck / by.alt.serverCpuUsPerAck,
            throughputOursOverAlt: by.ours.reqPerSec / by.alt.reqPerSec,
          }),
        }
      : {};

// REDIS_MIN_REPLICAS=1 against 0 on the same master + replica (target: ≥ 0.85× req/s).
const min1 = by['ours-min1'];
const min0 = by['ours-min0'];
const replicaRatios =
  min1 && min0
    ? {
        throughputMin1OverMin0: min1.reqPerSec / min0.reqPerSec,
        p99MsMin0: min0.p99Ms,
        p99MsMin1: min1.p99Ms,
        p99Min1OverMin0: min1.p99Ms / min0.p99Ms,
      }
    : undefined;

printTable('ingress: every run', runs);
printTable(`ingress: medians of ${opts.rounds} interleaved rounds`, summary);
if (ratios.throughputOursOverPrev) printTable('ingress: ours / prev (target: req/s ≥ 0.95)', [ratios]);
if (ratios.serverCpuOursOverNaive) {
  printTable('ingress: ours / naive (targets: cpu ≤ 0.6, throughput ≥ 1.3, p99 ≤ 1)', [ratios]);
}
if (replicaRatios) printTable('ingress: REDIS_MIN_REPLICAS=1 / 0 (target: req/s ≥ 0.85)', [replicaRatios]);
writeResult(opts.variants.split(',').includes('prev') ? 'ingress-prev' : 'ingress', {
  options: opts,
  runs,
  summary,
  ratios,
  replicaRatios,
});
const broken = runs.some((r) => r.everyAckStored === false || r.dedupeOk === false);
if (broken) {
  process.stderr.write('FAILED: a variant answered 2xx for events it did not store, or dedupe broke\n');
  process.exitCode = 1;
}
