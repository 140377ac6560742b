import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { REPO_ROOT, waitFor } from '@vod-callbacks/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Pipeline, postCallback, sendMix, startPipeline, uploadEvent } from './support/pipeline.js';
import { type PrometheusServer, startPrometheus } from './support/prometheus-server.js';

// Every panel of the Grafana dashboard, run against a real Prometheus that scraped a live ingress
// and worker fed with real callbacks: a panel whose query errors or shows nothing fails the test.

const DASHBOARD = join(REPO_ROOT, 'deploy', 'grafana', 'dashboards', 'vod-callbacks.json');
const PROM_DIR = join(REPO_ROOT, 'deploy', 'prometheus');

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
  let p: Pipeline;
  let prom: PrometheusServer;
  let start: number;

  beforeAll(async () => {
    p = await startPipeline({
      label: 'grafana',
      ingressEnv: { EVENT_JOB_KEEP_COMPLETED: '0' },
      workerEnv: { EVENT_JOB_KEEP_COMPLETED: '0', REUPLOAD_BACKOFF_MS: '600000' },
    });
    const hostPort = (u: string) => new URL(u).host;
    start = Math.floor(Date.now() / 1000);
    prom = await startPrometheus(testConfig(hostPort(p.ingressUrl), hostPort(p.workerMetricsUrl)));
    await waitFor(
      'Prometheus to scrape both processes',
      async () => (await prom.query('sum(up{job=~"vod-ingress|vod-worker"})'))[0]?.values[0] === 2,
      20_000,
      200,
    );
    const processed = async () => {
      const r = await fetch(p.workerMetricsUrl);
      return (await r.text())
        .split('\n')
        .filter((l) => l.startsWith('vod_events_processed_total{'))
        .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
    };
    await sendMix(p, processed);
    // A few seconds of steady traffic, so every rate window of the test sees callbacks.
    const until = Date.now() + 6000;
    let n = 0;
    while (Date.now() < until && n < 600) {
      await postCallback(p.ingressUrl, uploadEvent(n % 5 === 0 ? 'InternalError.UrlUploadError' : 'Success'));
      n++;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Recording rules evaluated on the new data, and two more scrapes of the final counts.
    await waitFor(
      'recording rules to have data',
      async () => (await prom.query('vod:events_failure_ratio_by_class:rate5m')).length > 0,
      20_000,
      250,
    );
    await new Promise((r) => setTimeout(r, 2500));
  });

  afterAll(async () => {
    await prom?.stop();
    await p?.stop();
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

  it('shows what happened: accepted callbacks, dead letters by reason, one worker up', async () => {
    const now = Math.floor(Date.now() / 1000);
    const q = async (expr: string) =>
      (await prom.query(expr, { start: now, end: now, step: 1 }))[0]?.values[0];
    expect(await q('sum(up{job="vod-worker"})')).toBe(1);
    expect(await q('max(vod_queue_jobs{queue="vod-dead-letters", state="waiting"})')).toBe(2);
    expect(await q('sum(vod_callbacks_received_total{result="accepted"})')).toBeGreaterThan(20);
    expect(await q('sum(vod_dead_letters_total{reason="unknown_code"})')).toBe(1);
  });
});
