import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  EVENT_JOB_NAME,
  EVENTS_QUEUE,
  openShardQueues,
  type ShardLayout,
  shardLayoutOf,
  shardOfEvent,
} from '@vod-callbacks/shared';
import { appMain, deletePrefix, testRedisUrl, waitFor } from '@vod-callbacks/test-support';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type K8sObject, renderKustomization, theObject } from './support/kustomize.js';
import { type Pipeline, postCallback, startPipeline, uploadEvent } from './support/pipeline.js';
import { type PrometheusServer, startPrometheus } from './support/prometheus-server.js';

const run = promisify(execFile);

// The KEDA ScaledObject's queries (deploy/k8s, as rendered by kustomize) evaluated by a real Prometheus
// that scrapes a live ingress and worker the way prometheus-operator would (job and namespace labels),
// with three event shards (as the redis-cluster overlay runs them) under a backlog the worker cannot
// drain (one slot per shard, each held by a slow job): the backlog query must give what `vodctl
// queues` reports over all shards (waiting + prioritized of vod-events), leave out exactly the shards
// whose queue is paused (BullMQ 6 still counts a paused queue's jobs as waiting), and be 0 when all
// are. The probes the manifests declare are asked of the live processes, and the worker's drain is
// bounded by WORKER_SHUTDOWN_TIMEOUT_MS.

const SHARDS = 3;
/** Events left waiting in each shard once its first event holds the shard's only slot. */
const WAITING = [5, 3, 4] as const;
const BACKLOG = WAITING.reduce((a, b) => a + b, 0);
/** Prioritized jobs, all added to shard 1 (BullMQ keeps them apart from `wait`). */
const PRIORITIZED = 3;
const SHUTDOWN_TIMEOUT_MS = 2000;

/** Upload events, `counts[i]` of them routed to shard i (by the ingress's own routing rule). */
function eventsPerShard(counts: readonly number[]): ReturnType<typeof uploadEvent>[] {
  const left = [...counts];
  const events: ReturnType<typeof uploadEvent>[] = [];
  while (left.some((n) => n > 0)) {
    const event = uploadEvent('Success');
    const shard = shardOfEvent(event, counts.length);
    if (left[shard]! > 0) {
      left[shard]!--;
      events.push(event);
    }
  }
  return events;
}

describe('KEDA trigger queries against a real Prometheus scraping live processes', () => {
  let objects: K8sObject[];
  let queries: Record<string, string>;
  let p: Pipeline;
  let prom: PrometheusServer;
  let redis: Redis;
  let layout: ShardLayout;
  /** vod-events of each shard, by index. */
  let events: Queue[];

  const value = async (expr: string) => {
    const r = await prom.query(expr);
    expect(r, expr).toHaveLength(1);
    return r[0]!.values[0]!;
  };
  const vodctlQueues = async () => {
    const { stdout } = await run(process.execPath, [appMain('cli'), 'queues', '--json'], {
      env: {
        ...process.env,
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: p.prefix,
        EVENT_SHARDS: String(SHARDS),
      },
      timeout: 20_000,
    });
    return JSON.parse(stdout) as Record<string, Record<string, number>>;
  };

  beforeAll(async () => {
    objects = await renderKustomization(join('overlays', 'redis-cluster'));
    const so = theObject(objects, 'ScaledObject');
    queries = Object.fromEntries(
      so.spec.triggers.map((t: { name: string; metadata: { query: string } }) => [t.name, t.metadata.query]),
    );
    // Both overlays scale on the base's queries.
    const single = theObject(await renderKustomization(join('overlays', 'single-redis')), 'ScaledObject');
    expect(single.spec.triggers).toEqual(so.spec.triggers);
    p = await startPipeline({
      label: 'keda',
      env: { EVENT_SHARDS: String(SHARDS) },
      workerEnv: {
        // One slot per shard, held for minutes by its first job: everything after it waits.
        WORKER_CONCURRENCY: '1',
        PROCESSING_DELAY_MS: '600000',
        WORKER_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      },
    });
    redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    layout = shardLayoutOf(p.prefix, SHARDS);
    events = openShardQueues(redis, layout, [EVENTS_QUEUE]).map(({ queue }) => queue);
    const host = (u: string) => new URL(u).host;
    // Labels as prometheus-operator sets them: job from the jobLabel, namespace of the target.
    const labels = { namespace: so.metadata.namespace };
    prom = await startPrometheus({
      global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' },
      scrape_configs: [
        { job_name: 'vod-ingress', static_configs: [{ targets: [host(p.ingressUrl)], labels }] },
        { job_name: 'vod-worker', static_configs: [{ targets: [host(p.workerMetricsUrl)], labels }] },
      ],
    });
    await prom.untilUp(['vod-ingress', 'vod-worker']);
  });

  afterAll(async () => {
    await prom?.stop();
    await p?.stop();
    await Promise.all((events ?? []).map((q) => q.close()));
    if (redis && p) for (const prefix of [p.prefix, ...layout.prefixes]) await deletePrefix(redis, prefix);
    await redis?.quit();
  });

  it('every probe the manifests declare answers 200 on the live process', async () => {
    const base: Record<string, string> = {
      ingress: p.ingressUrl,
      worker: new URL(p.workerMetricsUrl).origin,
    };
    const checked: string[] = [];
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const c = d.spec.template.spec.containers[0];
      const app = /apps\/(\w+)\//.exec(c.command[1])![1]!;
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const path = c[probe].httpGet.path as string;
        const res = await fetch(`${base[app]}${path}`);
        expect(res.status, `${app} ${probe} ${path}`).toBe(200);
        checked.push(`${app} ${path}`);
      }
    }
    expect(checked).toHaveLength(6);
  });

  it('the backlog query gives waiting + prioritized of vod-events over all shards as vodctl reports them; the wait query the oldest age', async () => {
    // Each shard's first event takes its slot; the rest wait.
    for (const event of eventsPerShard(WAITING.map((n) => n + 1)))
      expect(await postCallback(p.ingressUrl, event)).toBe(200);
    for (let i = 0; i < PRIORITIZED; i++)
      await events[1]!.add(EVENT_JOB_NAME, { body: '{}', receivedAt: Date.now() }, { priority: 1 + i });
    await waitFor(
      'the first job of each shard to hold its slot',
      async () => (await Promise.all(events.map((q) => q.getActiveCount()))).every((n) => n === 1),
      10_000,
    );

    const report = await vodctlQueues();
    expect(report[EVENTS_QUEUE]).toMatchObject({
      waiting: BACKLOG,
      prioritized: PRIORITIZED,
      active: SHARDS,
    });
    const expected = report[EVENTS_QUEUE]!.waiting! + report[EVENTS_QUEUE]!.prioritized!;
    await waitFor(
      `the backlog query to reach ${expected}`,
      async () => (await value(queries['event-backlog']!)) === expected,
      20_000,
      250,
    );
    await waitFor(
      'the wait query to see the oldest job',
      async () => (await value(queries['event-wait']!)) > 0,
      20_000,
      250,
    );
    process.stdout.write(
      `KEDA queries: event-backlog=${await value(queries['event-backlog']!)} (vodctl, ${SHARDS} shards: waiting ${BACKLOG} + prioritized ${PRIORITIZED}), event-wait=${await value(queries['event-wait']!)} s\n`,
    );
  });

  it('a paused shard drops out of the backlog, although BullMQ still reports its jobs as waiting; all paused = 0', async () => {
    await events[0]!.pause();
    expect((await vodctlQueues())[EVENTS_QUEUE]!.waiting).toBe(BACKLOG);
    await waitFor(
      'the backlog query to leave shard 0 out',
      async () => (await value(queries['event-backlog']!)) === BACKLOG + PRIORITIZED - WAITING[0],
      20_000,
      250,
    );
    expect(await value(queries['event-wait']!)).toBeGreaterThan(0);

    await Promise.all(events.map((q) => q.pause()));
    expect((await vodctlQueues())[EVENTS_QUEUE]!.waiting).toBe(BACKLOG);
    await waitFor(
      'the backlog query to drop to 0',
      async () => (await value(queries['event-backlog']!)) === 0,
      20_000,
      250,
    );
    expect(await value(queries['event-wait']!)).toBe(0);
    // Resumed, the backlog counts again.
    await Promise.all(events.map((q) => q.resume()));
    await waitFor(
      'the backlog query to count again',
      async () => (await value(queries['event-backlog']!)) === BACKLOG + PRIORITIZED,
      20_000,
      250,
    );
  });

  it('SIGTERM lets a running job finish for at most WORKER_SHUTDOWN_TIMEOUT_MS (the drain the grace period covers)', async () => {
    const started = Date.now();
    const exit = await p.worker.kill('SIGTERM');
    const took = Date.now() - started;
    expect(p.worker.output()).toMatch(/shutdown timed out/);
    expect(exit.code).toBe(1);
    expect(took).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS - 100);
    expect(took).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 5000);
  });
});
