// Redis Cluster benchmark: our ingress + worker on a Redis Cluster on loopback (startRedisCluster:
// `--masters` masters × `--replicas` replicas each) with EVENT_SHARDS=`--shards`, against the same
// two processes on one redis-server with as many replicas and EVENT_SHARDS=1 (`single`), interleaved
// for `--rounds` rounds. Each run sends `--events` realistic callbacks (bench/lib/callback-load.mjs:
// every RequestId its own SourceUrl, so sources spread over the shards) and waits until every shard
// is drained. Per run: end-to-end events/s, each master's share of the masters' Redis CPU
// (used_cpu_sys + used_cpu_user deltas; the target: every master between 25 % and 42 % with
// 3 masters), replicas' CPU apart, Redis CPU µs per event, events per shard, and each master's
// busiest commands (INFO commandstats), and its CPU per event of its own shards (→ events per
// second one master core carries: the per-shard ceiling, derived, since 2 shared cores cannot fill
// one). Before the rounds, every node is measured idle for 5 s (cluster bus, replication pings,
// cron): what the masters use idle is reported per event too.
//
//   node bench/cluster.mjs [--events=30000] [--rounds=2] [--variants=single,cluster] [--shards=3]
//                          [--masters=3] [--replicas=2] [--worker-concurrency=50] [--aof=0]
// --worker-concurrency is the worker's total: each of its shard runtimes gets an equal part.
// --aof=1 turns on AOF (appendfsync everysec) on every node of both variants.
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { EVENTS_QUEUE, queueKeys, RedisKeys, shardLayoutOf } from '../packages/shared/dist/index.js';
import { callbackLoad } from './lib/callback-load.mjs';
import { answersHttp, REPO_ROOT, sleep, startNode, testSupport } from './lib/processes.mjs';
import { commandStats, cpuMeter } from './lib/resource-usage.mjs';
import { flags, median, printTable, summarizeBy, writeResult } from './lib/results.mjs';

const opts = flags({
  events: 30_000,
  rounds: 2,
  variants: 'single,cluster',
  shards: 3,
  masters: 3,
  replicas: 2,
  workerConcurrency: 50,
  aof: 0,
  drainSeconds: 120,
});
const PREFIX = 'vod';

const shardPrefixes = (count) => shardLayoutOf(PREFIX, count).prefixes;

async function infoCpuUs(client) {
  const info = await client.info('cpu');
  const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return (field('used_cpu_sys') + field('used_cpu_user')) * 1e6;
}

/**
 * The Redis of a variant, up for the whole run: `env` for the apps, `client` for the bench
 * (a Cluster client on the cluster), `nodes()` every node as { port, role, shards, client }.
 */
async function startSingle(ts) {
  const persistence = { appendOnly: opts.aof === 1, appendFsync: 'everysec' };
  const master = await ts.startRedisServer(persistence);
  const replicas = [];
  for (let i = 0; i < opts.replicas; i++) {
    replicas.push(
      await ts.startRedisServer({ ...persistence, args: ['--replicaof', '127.0.0.1', String(master.port)] }),
    );
  }
  const client = new Redis(master.url, { maxRetriesPerRequest: null });
  await ts.waitFor(
    `${opts.replicas} replicas online`,
    async () => (await client.info('replication')).match(/state=online/g)?.length === opts.replicas,
    30_000,
    100,
  );
  const nodes = [
    { port: master.port, role: 'master', client },
    ...replicas.map((r) => ({ port: r.port, role: 'replica', client: new Redis(r.url) })),
  ];
  return {
    shards: 1,
    env: { REDIS_URL: master.url, EVENT_SHARDS: '1' },
    client,
    nodes: async () => nodes.map((n) => ({ ...n, shards: n.role === 'master' ? [0] : [] })),
    async stop() {
      for (const n of nodes) n.client.disconnect();
      for (const r of replicas) await r.stop();
      await master.stop();
    },
  };
}

async function startCluster(ts) {
  const cluster = await ts.startRedisCluster({
    masters: opts.masters,
    replicasPerMaster: opts.replicas,
    appendonly: opts.aof === 1,
  });
  const masters = await cluster.masters();
  const client = new Cluster(
    masters.map((m) => ({ host: '127.0.0.1', port: m.port })),
    { redisOptions: { maxRetriesPerRequest: null } },
  );
  const clients = new Map([...cluster.nodes.keys()].map((port) => [port, new Redis(port, '127.0.0.1')]));
  const prefixes = shardPrefixes(opts.shards);
  return {
    shards: opts.shards,
    env: { ...cluster.env, EVENT_SHARDS: String(opts.shards) },
    client,
    async nodes() {
      const live = await cluster.masters();
      const shardMasters = await Promise.all(prefixes.map((p) => cluster.masterOfKey(`${p}:x`)));
      const masterPorts = new Set(live.map((m) => m.port));
      return [...cluster.nodes.keys()].map((port) => ({
        port,
        role: masterPorts.has(port) ? 'master' : 'replica',
        shards: shardMasters.flatMap((p, i) => (p === port ? [i] : [])),
        client: clients.get(port),
      }));
    },
    async stop() {
      client.disconnect();
      for (const c of clients.values()) c.disconnect();
      await cluster.stop();
    },
  };
}

async function startApps(ts, redisEnv, shards) {
  const port = await ts.freePort();
  const base = `http://127.0.0.1:${port}`;
  const common = { ...redisEnv, QUEUE_PREFIX: PREFIX, LOG_LEVEL: 'warn' };
  const ingress = await startNode(join(REPO_ROOT, 'apps/ingress/dist/main.js'), {
    env: { ...common, INGRESS_PORT: String(port), INGRESS_HOST: '127.0.0.1', CALLBACK_AUTH: 'none' },
    ready: () => answersHttp(`${base}/healthz`),
    timeoutMs: 60_000,
  });
  const metricsPort = await ts.freePort();
  const worker = await startNode(join(REPO_ROOT, 'apps/worker/dist/main.js'), {
    env: {
      ...common,
      WORKER_CONCURRENCY: String(Math.ceil(opts.workerConcurrency / shards)),
      // Re-uploads are scheduled but not due within the run: every outcome counted is an event's.
      REUPLOAD_BACKOFF_MS: '600000',
      WORKER_METRICS_HOST: '127.0.0.1',
      WORKER_METRICS_PORT: String(metricsPort),
    },
    ready: async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200,
    timeoutMs: 60_000,
  });
  return { ingress, worker, url: `${base}/callbacks/vod` };
}

/** Per shard: its outcomes, and the event jobs still waiting or active. */
async function shardCounts(client, shards) {
  return Promise.all(
    shardPrefixes(shards).map(async (p) => {
      const events = queueKeys(p, EVENTS_QUEUE);
      const [outcomes, waiting, active] = await Promise.all([
        client.xlen(new RedisKeys(p).outcomes),
        client.llen(events.wait),
        client.llen(events.active),
      ]);
      return { outcomes, waiting, active };
    }),
  );
}

/**
 * CPU µs per second each role's nodes use with no pipeline running (cluster bus, replication
 * pings, cron), over `seconds`: the part of a run's CPU that is not the events'.
 */
async function idleCpu(redis, seconds = 5) {
  const nodes = await redis.nodes();
  const before = await Promise.all(nodes.map((n) => infoCpuUs(n.client)));
  await sleep(seconds * 1000);
  const after = await Promise.all(nodes.map((n) => infoCpuUs(n.client)));
  const perSecond = (role) =>
    nodes.reduce((sum, n, i) => sum + (n.role === role ? (after[i] - before[i]) / seconds : 0), 0);
  return { mastersUsPerSecond: perSecond('master'), replicasUsPerSecond: perSecond('replica') };
}

async function runVariant(variant, round, ts, redis) {
  const nodes = await redis.nodes();
  for (const n of nodes.filter((x) => x.role === 'master')) await n.client.flushall();
  const { ingress, worker, url } = await startApps(ts, redis.env, redis.shards);
  try {
    for (const n of nodes) await n.client.config('RESETSTAT');
    const cpuBefore = await Promise.all(nodes.map((n) => infoCpuUs(n.client)));
    const meter = cpuMeter({ ingress: ingress.pid, worker: worker.pid });
    const t0 = Date.now();
    const report = await callbackLoad(url, {
      events: opts.events,
      tag: `2024cl${variant.slice(0, 2)}${round}x`,
    });
    const loadSeconds = (Date.now() - t0) / 1000;
    let counts;
    const deadline = Date.now() + opts.drainSeconds * 1000;
    for (;;) {
      counts = await shardCounts(redis.client, redis.shards);
      if (counts.every((c) => c.waiting === 0 && c.active === 0) || Date.now() > deadline) break;
      await sleep(100);
    }
    const drainedSeconds = (Date.now() - t0) / 1000;
    const cpu = meter.stop();
    const cpuAfter = await Promise.all(nodes.map((n) => infoCpuUs(n.client)));
    const outcomes = counts.reduce((s, c) => s + c.outcomes, 0);
    const perNode = await Promise.all(
      nodes.map(async (n, i) => ({
        port: n.port,
        role: n.role,
        shards: n.shards.join(',') || '-',
        cpuUs: cpuAfter[i] - cpuBefore[i],
        topCommands: n.role === 'master' ? await commandStats(n.client, outcomes, 6) : [],
      })),
    );
    const masters = perNode.filter((n) => n.role === 'master');
    const replicas = perNode.filter((n) => n.role === 'replica');
    const mastersUs = masters.reduce((s, n) => s + n.cpuUs, 0);
    const replicasUs = replicas.reduce((s, n) => s + n.cpuUs, 0);
    for (const n of masters) {
      n.shareOfMastersCpu = n.cpuUs / mastersUs;
      // Its CPU per event of the shards it holds, and what one core at that cost carries: the
      // ceiling of one shard on its own master (this box cannot load a master to a full core).
      const own =
        n.shards === '-' ? 0 : n.shards.split(',').reduce((sum, i) => sum + counts[Number(i)].outcomes, 0);
      n.cpuUsPerOwnEvent = n.cpuUs / own;
      n.ownEventsPerCoreSecond = 1e6 / n.cpuUsPerOwnEvent;
    }
    const acked = report.statuses['200'] ?? 0;
    return {
      variant,
      round,
      shards: redis.shards,
      sent: report.sent,
      acked,
      non200: report.sent - report.uncounted - acked,
      ingressP99Ms: report.latencyMs.p99,
      loadSeconds,
      drainedSeconds,
      outcomes,
      byStatus: JSON.stringify(report.byStatus),
      // Every distinct event ends as exactly one outcome: at most one each, and at least one for all
      // but those refused (non-200, not stored unless a redelivery got a 200) or in flight when
      // autocannon stopped (stored but not counted).
      outcomesComplete:
        outcomes <= report.distinct &&
        outcomes >= report.distinct - report.uncounted - (report.sent - report.uncounted - acked),
      acceptedPerSec: acked / loadSeconds,
      endToEndPerSec: outcomes / drainedSeconds,
      ingressCpuUsPerEvent: cpu.ingress / outcomes,
      workerCpuUsPerEvent: cpu.worker / outcomes,
      mastersCpuUsPerEvent: mastersUs / outcomes,
      replicasCpuUsPerEvent: replicasUs / outcomes,
      // What the masters would have used idle over the same time (see idleCpu), per event.
      mastersIdleCpuUsPerEvent: (redis.idle.mastersUsPerSecond * drainedSeconds) / outcomes,
      // Highest and lowest master share of the masters' CPU (target with 3 masters: 25–42 %).
      maxMasterShare: Math.max(...masters.map((n) => n.shareOfMastersCpu)),
      minMasterShare: Math.min(...masters.map((n) => n.shareOfMastersCpu)),
      // Median over masters of the events of its own shards one of its cores would carry.
      ownEventsPerMasterCoreSecond: median(masters.map((n) => n.ownEventsPerCoreSecond)),
      eventsPerShard: counts.map((c) => c.outcomes),
      nodes: perNode,
    };
  } finally {
    await ingress.stop();
    await worker.stop();
  }
}

const ts = await testSupport();
const variants = opts.variants.split(',');
const redisOf = {};
const runs = [];
try {
  for (const v of variants) {
    process.stdout.write(`starting the ${v} Redis …\n`);
    redisOf[v] = v === 'cluster' ? await startCluster(ts) : await startSingle(ts);
  }
  for (const v of variants) redisOf[v].idle = await idleCpu(redisOf[v]);
  for (let round = 1; round <= opts.rounds; round++) {
    // A B, then B A: neither variant always runs first (warm-up, a neighbour's load).
    for (const v of round % 2 === 1 ? variants : [...variants].reverse()) {
      process.stdout.write(`round ${round}: ${v} …\n`);
      runs.push(await runVariant(v, round, ts, redisOf[v]));
    }
  }
} finally {
  for (const r of Object.values(redisOf)) await r.stop();
}

const summary = summarizeBy(
  runs,
  'variant',
  [
    'endToEndPerSec',
    'acceptedPerSec',
    'ingressP99Ms',
    'ingressCpuUsPerEvent',
    'workerCpuUsPerEvent',
    'mastersCpuUsPerEvent',
    'replicasCpuUsPerEvent',
    'mastersIdleCpuUsPerEvent',
    'ownEventsPerMasterCoreSecond',
  ],
  (rs, variant) => ({
    idleMastersCpuPct: redisOf[variant].idle.mastersUsPerSecond / 1e4,
    idleReplicasCpuPct: redisOf[variant].idle.replicasUsPerSecond / 1e4,
    maxMasterShare: Math.max(...rs.map((r) => r.maxMasterShare)),
    minMasterShare: Math.min(...rs.map((r) => r.minMasterShare)),
    non200: rs.reduce((s, r) => s + r.non200, 0),
    outcomesComplete: rs.every((r) => r.outcomesComplete),
  }),
);
const by = Object.fromEntries(summary.map((s) => [s.variant, s]));
const ratios =
  by.cluster && by.single
    ? {
        endToEndClusterOverSingle: by.cluster.endToEndPerSec / by.single.endToEndPerSec,
        acceptedClusterOverSingle: by.cluster.acceptedPerSec / by.single.acceptedPerSec,
        mastersCpuPerEventClusterOverSingle: by.cluster.mastersCpuUsPerEvent / by.single.mastersCpuUsPerEvent,
        replicasCpuPerEventClusterOverSingle:
          by.cluster.replicasCpuUsPerEvent / by.single.replicasCpuUsPerEvent,
        ownEventsPerMasterCoreClusterOverSingle:
          by.cluster.ownEventsPerMasterCoreSecond / by.single.ownEventsPerMasterCoreSecond,
      }
    : {};

printTable(
  'cluster: every run',
  runs.map(({ nodes, eventsPerShard, ...r }) => ({ ...r, eventsPerShard: eventsPerShard.join('/') })),
);
for (const r of runs) {
  printTable(
    `Redis nodes: ${r.variant} r${r.round} (CPU µs over the run; share = of the masters' CPU)`,
    r.nodes.map(({ topCommands, ...n }) => ({
      ...n,
      cpuUsPerEvent: n.cpuUs / r.outcomes,
      shareOfMastersCpu:
        n.shareOfMastersCpu === undefined ? '' : `${(n.shareOfMastersCpu * 100).toFixed(1)} %`,
      top: topCommands
        .slice(0, 4)
        .map((c) => `${c.command} ${c.usPer.toFixed(1)}`)
        .join(', '),
    })),
  );
}
printTable(`cluster: medians of ${opts.rounds} interleaved rounds (master shares: extremes)`, summary);
if (ratios.endToEndClusterOverSingle) printTable('cluster / single', [ratios]);
writeResult('cluster', { options: opts, runs, summary, ratios });
const shareMissed = runs.some(
  (r) =>
    r.variant === 'cluster' && opts.masters === 3 && (r.minMasterShare < 0.25 || r.maxMasterShare > 0.42),
);
if (shareMissed) process.stdout.write('\nmaster CPU shares outside 25–42 % in at least one cluster run\n');
if (runs.some((r) => !r.outcomesComplete)) {
  process.stderr.write('FAILED: a run did not turn every acknowledged event into exactly one outcome\n');
  process.exitCode = 1;
}
