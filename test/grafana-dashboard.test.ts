import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import {
  REPO_ROOT,
  startApp,
  startWebhookReceiver,
  type WebhookReceiver,
  waitFor,
} from '@vod-callbacks/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type SimulatedPipeline, sendMix, startPipelineWithSimulator } from './support/pipeline.js';
import { type PrometheusServer, startPrometheus } from './support/prometheus-server.js';
import { webhookEnv } from './webhooks/webhook-support.js';

// Every panel of the Grafana dashboard, run against a real Prometheus that scraped a live ingress
// and worker fed with real callbacks (the simulator's load mode, plus a mix with dead letters), with
// re-uploads going to the VOD simulator and its callbacks coming back: a panel whose query errors
// or shows nothing fails the test. Outcome webhooks go to a real receiver, so their row has data.
// The pipeline runs with several event shards, so the queue panels must add shards up (after
// deduplicating the two exporters) and the per-shard panel must show each shard.

const DASHBOARD = join(REPO_ROOT, 'deploy', 'grafana', 'dashboards', 'vod-callbacks.json');
const PROM_DIR = join(REPO_ROOT, 'deploy', 'prometheus');
const SHARDS = 3;

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { uid: string };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

function dashboardPanels(): Panel[] {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  return dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Grafana's built-in variables, as Grafana would expand them for a 1 s scrape interval. */
function expandGrafanaVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '10s')
    .replaceAll('$__interval', '2s')
    .replaceAll('$__range', '5m');
}

/** Prometheus config for the test: the deploy config's jobs and rules, pointed at the live processes. */
function testConfig(ingressTarget: string, workerTarget: string): object {
  const deploy = parse(readFileSync(join(PROM_DIR, 'prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string }[];
  };
  const jobs = deploy.scrape_configs.map((s) => s.job_name);
  expect(jobs).toEqual(expect.arrayContaining(['vod-ingress', 'vod-worker']));
  return {
    global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' },
    rule_files: deploy.rule_files.map((f) => (isAbsolute(f) ? f : join(PROM_DIR, f))),
    scrape_configs: [
      { job_name: 'vod-ingress', static_configs: [{ targets: [ingressTarget] }] },
      { job_name: 'vod-worker', static_configs: [{ targets: [workerTarget] }] },
    ],
  };
}

describe('Grafana dashboard against a real Prometheus', () => {
  let p: SimulatedPipeline;
  let prom: PrometheusServer;
  let receiver: WebhookReceiver;
  let start: number;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    p = await startPipelineWithSimulator({
      label: 'grafana',
      env: { EVENT_SHARDS: String(SHARDS) },
      credentials: { accessKeyId: 'AKLTsimulator', secretKey: 'simulator-secret-key' },
      simulatorEnv: { SIM_PROCESSING_MS: '300' },
      ingressEnv: { EVENT_JOB_KEEP_COMPLETED: '0' },
      workerEnv: {
        EVENT_JOB_KEEP_COMPLETED: '0',
        // Re-uploads go to the simulator soon after the failure, so their panels see real calls.
        REUPLOAD_BACKOFF_MS: '300',
        REUPLOAD_SPACES: 'obs-test,load-space',
        RECONCILE_AFTER_SECONDS: '2',
        RECONCILE_INTERVAL_SECONDS: '1',
        ...webhookEnv(receiver),
      },
    });
    const hostPort = (u: string) => new URL(u).host;
    start = Math.floor(Date.now() / 1000);
    prom = await startPrometheus(testConfig(hostPort(p.ingressUrl), hostPort(p.workerMetricsUrl)));
    await prom.untilUp(['vod-ingress', 'vod-worker']);
    const processed = async () => {
      const r = await fetch(p.workerMetricsUrl);
      return (await r.text())
        .split('\n')
        .filter((l) => l.startsWith('vod_events_processed_total{'))
        .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
    };
    await sendMix(p, processed);
    // Steady traffic from the simulator's load mode (its default code mix, 5% redeliveries).
    const load = await startApp(
      'vod-simulator',
      {},
      undefined,
      ['load', '--target', p.callbackUrl, '--count', '300', '--rate', '60', '--max-seconds', '20'],
      30_000,
    );
    const loadExit = await load.exited;
    expect(loadExit.code, load.output()).toBe(0);
    const report = JSON.parse(load.output().slice(load.output().indexOf('{'))) as {
      statuses: Record<string, number>;
    };
    expect(report.statuses).toEqual({ '200': 300 });
    await waitFor(
      're-uploads accepted by the simulator',
      async () =>
        ((await prom.query('sum(vod_reupload_requests_total{result="accepted"})'))[0]?.values[0] ?? 0) > 0,
      20_000,
      250,
    );
    // Recording rules evaluated on the new data, two more scrapes of the final counts, and the rules
    // evaluated again after them.
    await waitFor(
      'recording rules to have data',
      async () => (await prom.query('vod:events_failure_ratio_by_class:rate5m')).length > 0,
      20_000,
      250,
    );
    const latest = async (expr: string) => (await prom.query(expr))[0]?.values[0] ?? 0;
    const since = Date.now() / 1000;
    const lastScrape = await waitFor(
      'two more scrapes of both processes',
      async () => {
        const at = await latest('min(timestamp(up{job=~"vod-ingress|vod-worker"}))');
        return at >= since + 1 ? at : undefined;
      },
      20_000,
      250,
    );
    await waitFor(
      'the recording rules evaluated after the last scrape',
      async () => (await latest('max(timestamp(vod:events_failure_ratio_by_class:rate5m))')) > lastScrape,
      20_000,
      250,
    );
  });

  afterAll(async () => {
    await prom?.stop();
    await p?.stop();
    await receiver?.close();
  });

  it('every panel uses the provisioned datasource and says what it shows', () => {
    const provisioned = parse(
      readFileSync(
        join(REPO_ROOT, 'deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml'),
        'utf8',
      ),
    ) as { datasources: { uid: string }[] };
    const uid = provisioned.datasources[0]!.uid;
    const panels = dashboardPanels().filter((x) => x.type !== 'row');
    expect(new Set(panels.map((x) => x.id)).size).toBe(panels.length);
    for (const panel of panels) {
      expect(panel.description?.length ?? 0, `${panel.title} description`).toBeGreaterThan(20);
      for (const t of panel.targets ?? []) expect(t.datasource?.uid ?? panel.datasource?.uid).toBe(uid);
    }
  });

  it("every panel's PromQL runs and returns series with values", async () => {
    const panels = dashboardPanels().filter((x) => (x.targets ?? []).length > 0);
    expect(panels.length).toBeGreaterThanOrEqual(18);
    const end = Math.ceil(Date.now() / 1000);
    const problems: string[] = [];
    let checked = 0;
    for (const panel of panels) {
      for (const target of panel.targets!) {
        const expr = expandGrafanaVariables(target.expr);
        checked++;
        if (expr.includes('$')) {
          problems.push(`${panel.title} [${target.refId}]: unexpanded variable in ${expr}`);
          continue;
        }
        try {
          const series = await prom.query(expr, { start, end, step: 1 });
          const finite = series.some((s) => s.values.some((v) => Number.isFinite(v)));
          if (series.length === 0) problems.push(`${panel.title} [${target.refId}]: no series for ${expr}`);
          else if (!finite) problems.push(`${panel.title} [${target.refId}]: only NaN/Inf for ${expr}`);
        } catch (err) {
          problems.push(`${panel.title} [${target.refId}]: ${(err as Error).message}`);
        }
      }
    }
    process.stdout.write(
      `dashboard: ${checked} queries of ${panels.length} panels checked against Prometheus\n`,
    );
    expect(problems).toEqual([]);
  });

  it('the per-shard backlog panel shows every shard, each once (the two exporters deduplicated)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const panel = dashboardPanels().find((x) => x.title === 'Event backlog per shard')!;
    const series = await prom.query(panel.targets![0]!.expr, { start: now, end: now, step: 1 });
    expect(series.map((s) => s.metric.shard).sort()).toEqual(
      Array.from({ length: SHARDS }, (_, i) => String(i)),
    );
    // Every shard's gauges come from the ingress and the worker; the recording rule counts each once.
    const perShard = await prom.query('vod:queue_jobs_by_shard:max{queue="vod-events", state="waiting"}', {
      start: now,
      end: now,
      step: 1,
    });
    expect(perShard).toHaveLength(SHARDS);
  });

  it('evaluates every recording and alert rule on the live data without error; VodDeadLetters fires', async () => {
    const rules = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as {
      data: {
        groups: {
          name: string;
          rules: { name: string; health: string; lastError?: string; type: string }[];
        }[];
      };
    };
    const all = rules.data.groups.flatMap((g) => g.rules);
    expect(all.filter((r) => r.type === 'alerting').length).toBeGreaterThanOrEqual(10);
    expect(all.filter((r) => r.type === 'recording').length).toBeGreaterThanOrEqual(10);
    expect(
      all.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
    ).toEqual([]);
    // The mix dead-lettered an unknown code and an invalid payload minutes ago: the alert fires per
    // reason; all workers are up, so the absent() alert stays quiet.
    const alerts = await waitFor(
      'VodDeadLetters to fire',
      async () => {
        const body = (await (await fetch(`${prom.url}/api/v1/alerts`)).json()) as {
          data: { alerts: { labels: Record<string, string>; state: string }[] };
        };
        const firing = body.data.alerts.filter((a) => a.state === 'firing');
        return firing.some((a) => a.labels.alertname === 'VodDeadLetters') ? firing : undefined;
      },
      10_000,
      250,
    );
    const reasons = alerts.filter((a) => a.labels.alertname === 'VodDeadLetters').map((a) => a.labels.reason);
    expect(reasons).toEqual(expect.arrayContaining(['unknown_code', 'invalid_payload']));
    expect(alerts.map((a) => a.labels.alertname)).not.toContain('VodNoWorkerUp');
    expect(alerts.map((a) => a.labels.alertname)).not.toContain('VodIngressDown');
  });

  it('shows what happened: accepted callbacks, dead letters by reason, one worker up', async () => {
    const now = Math.floor(Date.now() / 1000);
    const q = async (expr: string) =>
      (await prom.query(expr, { start: now, end: now, step: 1 }))[0]?.values[0];
    expect(await q('sum(up{job="vod-worker"})')).toBe(1);
    // Both processes export every shard's gauges; the two dead letters are counted once whichever
    // shards their sources hash to (a plain sum would say 4, a max over shards 1 when they are apart).
    const deadLetters = 'vod_queue_jobs{queue="vod-dead-letters", state="waiting"}';
    expect(await q(`count(${deadLetters})`)).toBe(2 * SHARDS);
    const waitingPanel = dashboardPanels().find((x) => x.title === 'Dead letters waiting')!;
    expect(await q(waitingPanel.targets![0]!.expr)).toBe(2);
    expect(await q('vod:queue_jobs:sum{queue="vod-dead-letters", state="waiting"}')).toBe(2);
    expect(await q('sum(vod_callbacks_received_total{result="accepted"})')).toBeGreaterThan(20);
    expect(await q('sum(vod_dead_letters_total{reason="unknown_code"})')).toBe(1);
    // Re-uploads reached the simulator and their callbacks came back as attempt-2 events.
    expect(await q('sum(vod_reuploads_scheduled_total)')).toBeGreaterThan(0);
    expect(await q('sum(vod_reupload_requests_total{result="accepted"})')).toBeGreaterThan(0);
  });
});
