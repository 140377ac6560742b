import { EVENTS_QUEUE, type RedisClient } from '@vod-callbacks/shared';
import { waitFor } from '@vod-callbacks/test-support';
import { Queue } from 'bullmq';
import { type LoadStats, type Phase, requestIds, type StreamFault, sendStream } from './fault-harness.js';

// What the Sentinel and the Cluster failover tests share: the load with the failover in it, the
// ingress's counters, and the wait until the surviving master has run every job it holds.

/** Both streams' figures as one (status counts per phase summed: both may have answered in one phase). */
export function mergeStats(a: LoadStats, b: LoadStats): LoadStats {
  const other = { ...a.other };
  for (const [k, v] of Object.entries(b.other)) other[k] = (other[k] ?? 0) + v;
  const byPhase: LoadStats['byPhase'] = {};
  for (const phases of [a.byPhase, b.byPhase])
    for (const [phase, statuses] of Object.entries(phases)) {
      const into = byPhase[phase] ?? {};
      for (const [status, n] of Object.entries(statuses)) into[status] = (into[status] ?? 0) + n;
      byPhase[phase] = into;
    }
  return {
    sent: a.sent + b.sent,
    acked: new Set([...a.acked, ...b.acked]),
    unavailable: a.unavailable + b.unavailable,
    unavailableWithoutRetryAfter: a.unavailableWithoutRetryAfter + b.unavailableWithoutRetryAfter,
    other,
    errors: a.errors + b.errors,
    durationMs: a.durationMs + b.durationMs,
    byPhase,
  };
}

/** `received_total` by result and the reconnect count, read from the ingress's /metrics. */
export async function ingressCounters(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^vod_callbacks_received_total\{[^}]*result="([a-z_]+)"[^}]*\} (\d+)/gm))
    out[m[1]!] = Number(m[2]);
  out.reconnects = Number(/^vod_redis_reconnects_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  return out;
}

/** Waits until no event job waits, runs or is delayed under any of `prefixes` (the dead master's unreplicated ones are gone). */
export async function waitForEventsDrained(
  connection: RedisClient | { url: string },
  prefixes: readonly string[],
): Promise<void> {
  for (const prefix of prefixes) {
    const queue = new Queue(EVENTS_QUEUE, { connection, prefix });
    try {
      await waitFor(
        `the events queue of ${prefix} to drain`,
        async () => {
          const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
          return Object.values(c).every((n) => n === 0);
        },
        90_000,
        250,
      );
    } finally {
      await queue.close();
    }
  }
}

/**
 * The load both failover scenarios run: a steady stream; at ~40 % of it the master's replication is
 * cut, 2 s later it is killed; after the failover a tail of new callbacks shows the load carrying on.
 */
export const FAILOVER_LOAD = {
  callbacks: 2000,
  ratePerSecond: 100,
  cutAtMs: ((2000 / 100) * 1000 * 0.4) | 0,
  cutToKillMs: 2000,
  tail: 300,
} as const;

/** Progress lines of a long scenario (`[name +12.3s] what`): where a slow run spent its time. */
export function progressLog(name: string): (what: string) => void {
  const started = Date.now();
  return (what) =>
    process.stdout.write(`[${name} +${((Date.now() - started) / 1000).toFixed(1)}s] ${what}\n`);
}

/** What the Sentinel group and the Redis Cluster of test-support both offer to fail a master over. */
export interface FailoverTopology {
  cutReplication(masterPort: number): Promise<void>;
  node(port: number): { kill(signal?: NodeJS.Signals): Promise<void> };
  waitForFailover(oldMasterPort: number, timeoutMs?: number): Promise<number>;
  waitForReplicas(port: number, n: number, timeoutMs?: number): Promise<void>;
}

/** The fault of both failover scenarios, and who to tell. */
export interface MasterFailoverPlan {
  topology: FailoverTopology;
  /** Port of the master to fail. */
  victim: number;
  minReplicas: number;
  /** Killed with the master (a worker, in one scenario). */
  alsoKill?: () => Promise<unknown>;
  /** `/readyz` URLs that must answer 200 again; the first is the ingress's (`failoverSeconds`). */
  readyz: readonly string[];
  /** Moved on as the fault goes: cutting, cut, killing, failover, after. */
  phase: Phase;
  step(what: string): void;
  /** Filled with the timings: cutSeconds, promoted, promotedAfterSeconds, replicaFollowingAfterSeconds, failoverSeconds, readySeconds. */
  figures: Record<string, unknown>;
}

/**
 * Cuts the victim's replication (what it takes from then on exists on it alone), SIGKILLs it
 * FAILOVER_LOAD.cutToKillMs later, waits for the promotion, for `minReplicas` replicas to follow the
 * promoted master (until then 503 is the right answer) and for every /readyz to answer 200. Phases:
 * cutting, cut, killing, failover, after.
 */
export async function failMasterOver(plan: MasterFailoverPlan): Promise<void> {
  const { topology, victim, figures, step, phase } = plan;
  const setPhase = (next: string) => {
    phase.current = next;
  };
  // Answers to requests sent while the cut is under way count for no phase.
  setPhase('cutting');
  await topology.cutReplication(victim);
  const cutAt = Date.now();
  step(`replication of ${victim} cut`);
  setPhase('cut');
  await new Promise((r) => setTimeout(r, FAILOVER_LOAD.cutToKillMs));
  setPhase('killing');
  await Promise.all([topology.node(victim).kill('SIGKILL'), plan.alsoKill?.()]);
  const killedAt = Date.now();
  const since = () => (Date.now() - killedAt) / 1000;
  step(`${victim} killed`);
  figures.cutSeconds = (killedAt - cutAt) / 1000;
  setPhase('failover');
  const promoted = await topology.waitForFailover(victim, 60_000);
  figures.promoted = promoted;
  figures.promotedAfterSeconds = since();
  step(`promoted ${promoted}`);
  if (plan.minReplicas > 0) await topology.waitForReplicas(promoted, plan.minReplicas, 60_000);
  figures.replicaFollowingAfterSeconds = since();
  const readySeconds: number[] = [];
  for (const url of plan.readyz) {
    await waitFor(
      `${url} 200 after the promotion`,
      async () => (await fetch(url)).status === 200,
      60_000,
      100,
    );
    readySeconds.push(since());
  }
  // Failover duration as a client sees it: from the SIGKILL to the ingress ready again.
  figures.failoverSeconds = readySeconds[0];
  figures.readySeconds = readySeconds;
  step('ready again');
  setPhase('after');
}

/**
 * The failover scenario's load: FAILOVER_LOAD's stream of `<label>-N` callbacks with `plan`'s
 * failover in it and, once every /readyz answers 200 again, a tail of `<label>-tail-N`. Returns both
 * streams' figures as one, and the tail's ids.
 */
export async function streamThroughFailover(opts: {
  url: string;
  label: string;
  body?: (requestId: string) => string;
  plan: MasterFailoverPlan;
}): Promise<{ stats: LoadStats; tailIds: string[] }> {
  const { plan } = opts;
  const send = (ids: readonly string[], maxDurationMs: number, fault?: StreamFault) =>
    sendStream({
      url: opts.url,
      ids,
      body: opts.body,
      ratePerSecond: FAILOVER_LOAD.ratePerSecond,
      maxDurationMs,
      phase: plan.phase,
      fault,
    });
  const main = await send(requestIds(opts.label, FAILOVER_LOAD.callbacks), 90_000, {
    atMs: FAILOVER_LOAD.cutAtMs,
    run: () => failMasterOver(plan),
  });
  plan.step('stream sent and the failover over');
  const tailIds = requestIds(`${opts.label}-tail`, FAILOVER_LOAD.tail);
  const tail = await send(tailIds, 30_000);
  plan.step('tail sent');
  return { stats: mergeStats(main, tail), tailIds };
}
